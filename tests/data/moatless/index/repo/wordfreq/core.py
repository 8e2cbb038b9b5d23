"""Word frequencies."""
import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z']+")


def count_words(text):
    """Count words in ``text``."""
    return Counter(_WORD.findall(text))


def top_words(text, n):
    """The ``n`` most common words, most common first; ties in alphabetical order."""
    counts = count_words(text)
    return [word for word, _ in counts.most_common(n)]
