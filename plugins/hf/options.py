"""Options of the policy hf (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class HFOptions(Options):
    """What ``--policy-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "policy hf"
    open_keys: ClassVar[tuple[str, ...]] = ('temperature', 'top_p', 'max_tokens', 'seed', 'stop')

    model: str | None = None
    device: str | None = None
    dtype: str | None = None
    max_new_tokens: int | None = None
    chat_template: str | None = None
    sampling: Any | dict[str, Any] | None = None
    num_threads: int | str | None = None
