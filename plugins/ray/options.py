"""Options of the executor ray (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class RayOptions(Options):
    """What ``--executor-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "executor ray"

    workers: int | None = None
    address: str | None = None
    num_cpus: float | None = None
    max_sandboxes_per_node: int | None = None
    runtime_env: dict[str, Any] | None = None
    max_reruns: int | None = None
    forward_env: list[str] | None = None
    placement_timeout_s: float | None = None
