"""Text normalisation helpers."""
import unicodedata


def strip_accents(text):
    """Remove combining accents: 'Crème' -> 'Creme'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text):
    """Split text into words on whitespace."""
    return text.split(" ")
