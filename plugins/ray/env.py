"""Which of the driver's environment variables a remote Ray worker gets, and how.

Why a rule: a rollout on another node needs the driver's library settings (``SWEGYM_``,
``LITELLM_``, ``HF_``, ``TRANSFORMERS_``) and the API keys its policy reads from the environment
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``HF_TOKEN``…), but not what belongs to the node:
``DOCKER_HOST`` and the other ``DOCKER_`` variables name the node's own daemon, so they stay as
the node set them.

Why not ``runtime_env``: Ray writes a job's runtime_env into its session logs and the GCS; the
forwarded variables travel as the worker actor's constructor argument instead and are set in the
worker process only (:func:`apply`).
"""
from __future__ import annotations

import os
from typing import Iterable, Mapping

#: Library settings a worker needs to behave like the driver.
SETTING_PREFIXES = ("SWEGYM_", "LITELLM_", "HF_", "TRANSFORMERS_", "TOKENIZERS_")
#: Credentials: any variable whose name ends like an API key or token (as the litellm plugin masks).
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY")
#: Where an OpenAI-compatible server is (read by litellm and the OpenAI client with the key).
ENDPOINT_SUFFIXES = ("_API_BASE", "_BASE_URL", "_ORGANIZATION")
#: The node's own: never overridden from the driver.
NODE_LOCAL_PREFIXES = ("DOCKER_",)


def is_secret(name: str) -> bool:
    """Whether a variable holds a credential (its value must never be written anywhere)."""
    return name.upper().endswith(SECRET_SUFFIXES)


def forwarded(environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> dict[str, str]:
    """The variables of ``environ`` (default: this process's) a remote worker gets.

    ``extra`` names more variables to forward (a policy's own key variable under another name);
    a node-local variable is never forwarded, even when named.
    """
    env = os.environ if environ is None else environ
    named = set(extra)
    out = {}
    for name, value in env.items():
        upper = name.upper()
        if upper.startswith(NODE_LOCAL_PREFIXES):
            continue
        if (name in named or upper.startswith(SETTING_PREFIXES) or upper.endswith(SECRET_SUFFIXES)
                or upper.endswith(ENDPOINT_SUFFIXES)):
            out[name] = value
    return out


def apply(env: Mapping[str, str]) -> None:
    """Set ``env`` in this (worker) process, leaving its node-local variables alone."""
    for name, value in env.items():
        if not name.upper().startswith(NODE_LOCAL_PREFIXES):
            os.environ[name] = value
