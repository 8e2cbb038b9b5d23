"""swegym plugin: hf — an in-process transformers model (HF directory, hub name org/name, or GGUF file) as a Policy.

For offline use, the demo and tests. torch/transformers are imported only when a policy is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def create_policy(**options: Any):
    """Local transformers chat model (HF directory, hub org/name or .gguf; default SmolLM2-135M-Instruct)."""
    from .policy import HFPolicy

    return HFPolicy(**options)


@hookimpl
def register_policies(register):
    register("hf", create_policy, description="In-process transformers model: HF directory, hub org/name or GGUF file (CPU ok).")
