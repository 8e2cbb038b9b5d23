"""Options of the policy replay (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class ReplayOptions(Options):
    """What ``--policy-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "policy replay"
    renames: ClassVar[dict[str, str]] = {"supports_function_calling": "function_calling"}

    path: str | Any | None = None
    index: int | None = None
    instance_id: str | None = None
    trajectory: Any | dict[str, Any] | list[dict[str, Any]] | None = None
    model: str | None = None
    #: Whether the recorded policy had native tool calls (the constructor calls it function_calling).
    supports_function_calling: bool | None = None
    sampling: Any | dict[str, Any] | None = None
