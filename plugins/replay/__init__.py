"""swegym plugin: replay — play back the assistant turns of a recorded trajectory.

For exact reproduction of a run and deterministic tests; no model, no network.
"""
from __future__ import annotations

from typing import Any

import click

from swegym import hookimpl

from .options import ReplayOptions


def create_policy(**options: Any):
    """Replays a recorded trajectory's assistant messages, in order."""
    from .policy import ReplayPolicy

    return ReplayPolicy(**ReplayOptions.from_dict(options).kwargs())


@hookimpl
def register_policies(register):
    register("replay", create_policy, options=ReplayOptions,
             description="Replays the assistant turns of a recorded trajectory.")


@hookimpl
def add_cli_options(group):
    group.add("--replay-file", kind="policy", component="replay", key="path", selects=True,
              type=click.Path(exists=True, dir_okay=False), help="Trajectories to replay (selects policy replay).")


@hookimpl
def policy_task_options(policy, task):
    """Each rollout replays the recorded trajectory of its own task."""
    return {"instance_id": task.instance_id} if policy == "replay" else None
