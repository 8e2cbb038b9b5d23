"""swegym plugin: openhands — the CodeAct scaffold SWE-Gym used (OpenHands 0.13, three tools).

Kept light: the agent loop is imported only when a scaffold is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl

from .options import OpenHandsOptions


def create_scaffold(**options: Any):
    """OpenHands CodeAct scaffold (execute_bash, str_replace_editor, finish; native or text tool calls)."""
    from .scaffold import CodeActScaffold

    return CodeActScaffold(**OpenHandsOptions.from_dict(options).kwargs())


@hookimpl
def register_scaffolds(register):
    register(
        "openhands",
        create_scaffold,
        options=OpenHandsOptions,
        description="OpenHands CodeAct as SWE-Gym ran it: bash, str_replace_editor, finish; native or text tool calls.",
    )
