"""Options of the scaffold openhands (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class OpenHandsOptions(Options):
    """What ``--scaffold-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "scaffold openhands"
    aliases: ClassVar[dict[str, str]] = {'max_iterations': 'max_steps'}
    renames: ClassVar[dict[str, str]] = {'max_steps': 'max_iterations'}

    max_steps: int | None = None
    function_calling: str | None = None
    in_context_example: bool | None = None
    max_message_chars: int | None = None
    max_context_tokens: int | None = None
    command_timeout: float | None = None
    workspace_mode: str | None = None
    detect_stuck: bool | None = None
    profile: str | None = None
