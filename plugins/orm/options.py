"""Options of the verifier orm (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class OrmOptions(Options):
    """What ``--verifier-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "verifier orm"

    model: str | Any | None = None
    api_base: str | None = None
    api_model: str | None = None
    batch_size: int | None = None
    template: str | None = None
    max_length: int | None = None
    device: str | None = None
    gguf_file: str | None = None
    api_key_env: str | None = None
    progress: bool | None = None
