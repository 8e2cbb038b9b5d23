"""A secret string (API key) that never shows itself in reprs, logs or error messages."""
from __future__ import annotations

import os
from typing import Any

MASK = "***"


class Secret:
    """Wraps a secret value; ``str``/``repr``/``format`` print a mask, ``get()`` returns the value.

    Why: policies end up in trajectories' metadata, manifests and tracebacks; only the HTTP
    Authorization header may ever carry the real key.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or None

    @classmethod
    def coerce(cls, value: "str | Secret | None") -> "Secret":
        return value if isinstance(value, Secret) else cls(value)

    def get(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK if self._value else None})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # pickling (e.g. to ray workers) keeps the value but not in plain reprs
        return (Secret, (self._value,))

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret (and of known key env values) masked."""
        return redact(text, [self._value] if self._value else [])


#: Environment variables whose values are API keys litellm may pick up by itself.
KEY_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY")


def redact(text: str, secrets: list[str]) -> str:
    """Mask ``secrets`` and any API-key-like environment values found in ``text``."""
    values = [s for s in secrets if s]
    values += [v for k, v in os.environ.items() if k.upper().endswith(KEY_ENV_SUFFIXES) and v and len(v) >= 8]
    for value in sorted(set(values), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, MASK)
    return text
