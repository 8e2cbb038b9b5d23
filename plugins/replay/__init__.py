"""swegym plugin: replay — play back the assistant turns of a recorded trajectory.

For exact reproduction of a run and deterministic tests; no model, no network.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def create_policy(**options: Any):
    """Replays a recorded trajectory's assistant messages, in order."""
    from .policy import ReplayPolicy

    return ReplayPolicy(**options)


@hookimpl
def register_policies(register):
    register("replay", create_policy, description="Replays the assistant turns of a recorded trajectory.")
