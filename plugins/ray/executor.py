"""Ray executor: every rollout is a Ray task; rows stream back to the driver as they finish.

Each task asks for ``num_cpus`` and one unit of the custom resource ``swegym_sandbox``. Nodes
advertise how many sandboxes they may run at once (``ray start --resources
'{"swegym_sandbox": 8}'``); for a local cluster started here, that is ``max_sandboxes_per_node``
(default: ``workers``). Ray then never places more containers on a node than it can hold.
Only the driver writes the run directory.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator

from swegym.errors import InfrastructureError, SwegymError
from swegym.interfaces import Executor

SANDBOX_RESOURCE = "swegym_sandbox"


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int = 4, address: str | None = None, num_cpus: float = 0.5,
                 max_sandboxes_per_node: int | None = None, runtime_env: dict[str, Any] | None = None,
                 max_retries: int = 1) -> None:
        try:
            import ray
        except ImportError:
            raise SwegymError("the ray executor needs ray: pip install 'swegym[ray]'") from None
        self.ray = ray
        self.workers = max(1, int(workers))
        self.num_cpus = num_cpus
        self.max_retries = max_retries
        self._started_here = False
        if not ray.is_initialized():
            env = {"env_vars": {k: v for k, v in os.environ.items()
                                if k.startswith(("SWEGYM_", "LITELLM_", "HF_", "TRANSFORMERS_", "DOCKER_"))}}
            if runtime_env:
                env.update(runtime_env)
            kwargs: dict[str, Any] = {"runtime_env": env, "log_to_driver": False, "include_dashboard": False}
            try:
                if address:
                    ray.init(address=address, **kwargs)
                else:
                    slots = max_sandboxes_per_node or self.workers
                    ray.init(resources={SANDBOX_RESOURCE: slots}, num_cpus=max(2, os.cpu_count() or 2), **kwargs)
                    self._started_here = True
            except Exception as exc:  # noqa: BLE001
                raise InfrastructureError(f"could not start or reach Ray ({address or 'local'}): {exc}") from exc
        if not ray.cluster_resources().get(SANDBOX_RESOURCE):
            raise SwegymError(
                f"the Ray cluster advertises no '{SANDBOX_RESOURCE}' resource; start its nodes with "
                f"`ray start ... --resources '{{\"{SANDBOX_RESOURCE}\": N}}'` (N = containers a node may run)")

    def map_unordered(self, fn: Callable[[Any], Any], requests: Iterable[Any]) -> Iterator[Any]:
        ray = self.ray
        remote = ray.remote(num_cpus=self.num_cpus, resources={SANDBOX_RESOURCE: 1},
                            max_retries=self.max_retries)(fn)
        queue = list(requests)
        in_flight: list[Any] = []
        # Keep at most `workers` tasks in flight: the driver streams rows and memory stays flat.
        while queue or in_flight:
            while queue and len(in_flight) < self.workers:
                in_flight.append(remote.remote(queue.pop(0)))
            done, in_flight = ray.wait(in_flight, num_returns=1)
            for ref in done:
                yield ray.get(ref)

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()
