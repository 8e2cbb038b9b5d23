"""swegym plugin: hf — an in-process transformers model (HF directory, hub name org/name, or GGUF file) as a Policy.

For offline use, the demo and tests. torch/transformers are imported only when a policy is created.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl

from .options import HFOptions

#: A small model on a CPU writes ~5-10 tokens/s and rarely stops on its own: replies are capped so
#: the offline demo finishes in minutes. Structured actions fit easily.
LOCAL_MODEL_MAX_TOKENS = 192


def create_policy(**options: Any):
    """Local transformers chat model (HF directory, hub org/name or .gguf; default SmolLM2-135M-Instruct)."""
    from .policy import HFPolicy

    return HFPolicy(**HFOptions.from_dict(options).kwargs())


@hookimpl
def register_policies(register):
    register("hf", create_policy, options=HFOptions,
             description="In-process transformers model: HF directory, hub org/name or GGUF file (CPU ok).")


@hookimpl(trylast=True)
def default_policy(model):
    """No model, or a local folder / .gguf file: run it in-process."""
    return "hf"


@hookimpl
def sampling_defaults(policy):
    return {"max_tokens": LOCAL_MODEL_MAX_TOKENS} if policy == "hf" else None
