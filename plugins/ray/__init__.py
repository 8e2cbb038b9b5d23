"""swegym plugin: the ``ray`` executor — rollouts as Ray tasks on a local or remote cluster.

Light on purpose: ray is imported only when the executor is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def _ray_executor(**options: Any):
    """Each rollout a Ray task; a per-node custom resource caps containers per node."""
    from .executor import RayExecutor

    return RayExecutor(**options)


@hookimpl
def register_executors(register):
    register("ray", _ray_executor, description="Rollouts as Ray tasks on a local or remote Ray cluster.")
