"""swegym plugin: litellm — any litellm model (OpenAI, Anthropic, vLLM/SGLang behind ``api_base``) as a Policy.

Kept light: litellm is imported only when a policy is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def create_policy(**options: Any):
    """Chat model through litellm (retries, cost, context-overflow outcome)."""
    from .policy import LiteLLMPolicy

    return LiteLLMPolicy(**options)


@hookimpl
def register_policies(register):
    register("litellm", create_policy, description="Any litellm model or OpenAI-compatible server (--api-base).")
