from .normalize import strip_accents, words
from .slug import slugify

__all__ = ["slugify", "strip_accents", "words"]
