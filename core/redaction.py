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


def secret_values(value: Any) -> list[str]:
    """The values of every secret-looking key in ``value`` (to mask them wherever else they appear)."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if SECRET_KEY.search(str(k)) and isinstance(v, str) and v:
                out.append(v)
            elif not isinstance(v, str):
                out += secret_values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            out += secret_values(v)
    return out


def redact_command(argv: list[str], secrets: list[str] | tuple[str, ...] = ()) -> str:
    """A command line fit for a manifest: the same rule as :func:`redact`, applied to flags.

    ``--api-key X`` and ``--api-key=X`` (any flag whose name is a secret key), ``KEY=X`` values
    (``--policy-opt api_key=X``, ``--runtime-opt``, ``--scaffold-opt``) and a JSON object value
    holding a secret key lose their value; any of ``secrets`` (e.g. a key from a config file or an
    environment variable) is masked wherever else it appears.
    """
    import os

    out: list[str] = []
    hide_next = False
    for token in map(str, argv):
        if hide_next:
            out.append(REDACTED)
            hide_next = False
        elif token.startswith("--") or (token.startswith("-") and len(token) == 2):
            flag, eq, value = token.partition("=")
            if SECRET_KEY.search(flag.lstrip("-").replace("-", "_")):
                out.append(f"{flag}={REDACTED}" if eq else flag)
                hide_next = not eq
            else:
                out.append(f"{flag}={_redact_option(value)}" if eq else token)
        else:
            out.append(_redact_option(token))
    text = " ".join(out)
    env = [v for k, v in os.environ.items() if k.upper().endswith(ENV_SECRET_SUFFIXES) and len(v) >= 8]
    for value in sorted({s for s in [*secrets, *env] if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def _redact_option(text: str) -> str:
    """``KEY=VALUE`` with a secret KEY, or a JSON object/list holding secret keys, with values hidden."""
    key, eq, value = text.partition("=")
    if eq and key and SECRET_KEY.search(key.replace("-", "_")):
        return f"{key}={REDACTED}"
    candidate = value if eq else text
    if candidate[:1] in "{[":
        import json

        try:
            parsed = json.loads(candidate)
        except ValueError:
            return text
        if secret_values(parsed):
            hidden = json.dumps(redact(parsed))
            return f"{key}={hidden}" if eq else hidden
    return text


#: Environment variables whose values are credentials (their values are masked in command lines).
ENV_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY", "_PASSWORD")
