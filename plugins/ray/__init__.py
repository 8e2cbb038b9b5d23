"""swegym plugin: the ``ray`` executor — rollouts on a pool of Ray actors, local or on a cluster.

Light on purpose: ray is imported only when the executor is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl

from .options import RayOptions


def create_executor(**options: Any):
    """A pool of rollout worker actors; a per-node custom resource caps containers per node."""
    from .executor import RayExecutor

    return RayExecutor(**RayOptions.from_dict(options).kwargs())


@hookimpl
def register_executors(register):
    register("ray", create_executor, options=RayOptions,
             description="Rollouts on a pool of Ray worker actors, spread over a cluster's nodes.")


@hookimpl
def add_cli_options(group):
    group.add("--ray-address", kind="executor", component="ray", key="address", selects=True,
              help="Ray cluster address (selects executor ray); default starts a local one.")
