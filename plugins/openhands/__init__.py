"""swegym plugin: openhands — the CodeAct scaffold SWE-Gym used (OpenHands 0.13, three tools).

Kept light: the agent loop is imported only when a scaffold is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def create_scaffold(**options: Any):
    """OpenHands CodeAct scaffold (execute_bash, str_replace_editor, finish; native or text tool calls)."""
    from .scaffold import CodeActScaffold

    return CodeActScaffold(**options)


@hookimpl
def register_scaffolds(register):
    register(
        "openhands",
        create_scaffold,
        description="OpenHands CodeAct as SWE-Gym ran it: bash, str_replace_editor, finish; native or text tool calls.",
    )
