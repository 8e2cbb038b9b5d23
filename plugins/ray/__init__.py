"""swegym plugin: the ``ray`` executor — rollouts on a pool of Ray actors, local or on a cluster.

Light on purpose: ray is imported only when the executor is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def _ray_executor(**options: Any):
    """A pool of rollout worker actors; a per-node custom resource caps containers per node."""
    from .executor import RayExecutor

    return RayExecutor(**options)


@hookimpl
def register_executors(register):
    register("ray", _ray_executor, description="Rollouts on a pool of Ray worker actors, spread over a cluster's nodes.")
