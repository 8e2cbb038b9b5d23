"""swegym plugin: orm — the outcome-reward-model verifier (``swegym.create("verifier", "orm", model=DIR)``).

Kept light: torch and transformers load only when a verifier is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def make_orm_verifier(**options: Any):
    """Outcome reward model scoring P(YES) with a local HF model or an OpenAI-compatible server."""
    from .verifier import OrmVerifier

    return OrmVerifier(**options)


@hookimpl
def register_verifiers(register):
    register("orm", make_orm_verifier, "outcome reward model: P(YES) from a local HF model or an OpenAI-compatible server")
