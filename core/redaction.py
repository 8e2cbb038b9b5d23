"""What counts as a secret in a configuration, and how it is kept out of files on disk.

Manifests (``manifest.json``, ``rft.json``) record the whole configuration so a run can be
reproduced; keys that hold credentials are replaced. A key is secret when its name says so
(``api_key``, ``secret``, ``password``, ``authorization``, or ending in ``token`` such as
``hf_token``); ``max_tokens`` is a setting and stays.
"""
from __future__ import annotations

import re
from typing import Any

SECRET_KEY = re.compile(r"(api[_-]?key|secret|password|authorization|(^|_)token$)", re.I)
REDACTED = "<redacted>"


def redact(value: Any) -> Any:
    """``value`` with every secret-looking key's value replaced, recursively."""
    if isinstance(value, dict):
        return {k: (REDACTED if SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
