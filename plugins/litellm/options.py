"""Options of the policy litellm (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class LiteLLMOptions(Options):
    """What ``--policy-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "policy litellm"
    open_keys: ClassVar[tuple[str, ...]] = ('temperature', 'top_p', 'max_tokens', 'seed', 'stop')

    model: str | None = None
    api_base: str | None = None
    api_key: str | Any | None = None
    max_retries: int | None = None
    timeout: float | None = None
    deadline: float | None = None
    max_reply_chars: int | None = None
    function_calling: str | None = None
    sampling: Any | dict[str, Any] | None = None
    backoff_base: float | None = None
    backoff_max: float | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    custom_llm_provider: str | None = None
