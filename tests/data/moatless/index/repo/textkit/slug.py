"""URL slugs."""
import re

from .normalize import strip_accents, words

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text, separator="-"):
    """Lower-case ASCII words of ``text`` joined by ``separator``."""
    cleaned = [_NOT_WORD.sub("", w.lower()) for w in words(strip_accents(text))]
    return "-".join(cleaned)
