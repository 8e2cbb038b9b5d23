"""swegym plugin: litellm — any litellm model (OpenAI, Anthropic, vLLM/SGLang behind ``api_base``) as a Policy.

Kept light: litellm is imported only when a policy is created.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from swegym import hookimpl

from .options import LiteLLMOptions


def create_policy(**options: Any):
    """Chat model through litellm (retries, cost, context-overflow outcome)."""
    from .policy import LiteLLMPolicy

    return LiteLLMPolicy(**LiteLLMOptions.from_dict(options).kwargs())


@hookimpl
def register_policies(register):
    register("litellm", create_policy, options=LiteLLMOptions,
             description="Any litellm model or OpenAI-compatible server (--api-base).")


@hookimpl
def add_cli_options(group):
    group.add("--api-base", kind="policy", component="litellm", key="api_base", selects=True,
              help="OpenAI-compatible server URL (vLLM, SGLang); policy litellm.")
    group.add("--api-key", kind="policy", component="litellm", key="api_key",
              help="API key (better: the provider's env var). Never written anywhere.")


@hookimpl
def default_policy(model):
    """A model name that is no local path (openai/gpt-4o, hosted_vllm/NAME) goes through litellm."""
    if model and not Path(model).expanduser().exists():
        return "litellm"
    return None
