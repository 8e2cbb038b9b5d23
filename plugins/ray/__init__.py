"""swegym plugin: the ``ray`` executor — rollouts as Ray tasks on a local or remote cluster.

Light on purpose: ray is imported only when the executor is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl

from .options import RayOptions


def create_executor(**options: Any):
    """Each rollout a Ray task; a per-node custom resource caps containers per node."""
    from .executor import RayExecutor

    return RayExecutor(**RayOptions.from_dict(options).kwargs())


@hookimpl
def register_executors(register):
    register("ray", create_executor, options=RayOptions,
             description="Rollouts as Ray tasks on a local or remote Ray cluster.")


@hookimpl
def add_cli_options(group):
    group.add("--ray-address", kind="executor", component="ray", key="address", selects=True,
              help="Ray cluster address (selects executor ray); default starts a local one.")
