"""swegym plugin: orm — the outcome-reward-model verifier (``swegym.create("verifier", "orm", model=DIR)``).

Kept light: torch and transformers load only when a verifier is created.
"""
from __future__ import annotations

from typing import Any

import click

from swegym import hookimpl

from .options import OrmOptions


def create_verifier(**options: Any):
    """Outcome reward model scoring P(YES) with a local HF model or an OpenAI-compatible server."""
    from .verifier import OrmVerifier

    return OrmVerifier(**OrmOptions.from_dict(options).kwargs())


@hookimpl
def register_verifiers(register):
    register("orm", create_verifier, "outcome reward model: P(YES) from a local HF model or an OpenAI-compatible server",
             options=OrmOptions)


@hookimpl
def add_cli_options(group):
    def add(*decls: str, key: str, **kw: Any) -> None:
        group.add(*decls, kind="verifier", component="orm", key=key, **kw)

    add("--api-base", key="api_base", help="Score through an OpenAI-compatible server instead (http://HOST:PORT/v1).")
    add("--api-model", key="api_model", help="The model name the server serves (with --api-base).")
    add("--template", key="template", type=click.Choice(["openhands", "moatless"]),
        help="Verifier prompt format the model was trained on (default openhands).")
    add("--max-length", key="max_length", type=click.IntRange(min=8),
        help="Cut prompts longer than this many tokens from the left (default: the model's context).")
    add("--device", key="device", help="torch device for a local verifier (default cpu).")
