"""Everything the SFT recipe does differently under ``torchrun``: ranks, FSDP2 sharding, gathering.

Single device (``WORLD_SIZE`` unset or 1) every function here is a no-op or a plain call, so the
recipe reads the same either way. Multi-process follows torchtune's ``full_finetune_distributed``:
``fully_shard`` per decoder layer, the checkpoint loaded into the sharded model, buffers and fresh
LoRA adapters initialised on the device, a full state dict gathered on rank 0 for saving. The
multi-GPU path cannot run on a CPU-only machine; it is untested here.
"""
from __future__ import annotations

import os
from typing import Any

from swegym import SwegymError


class Dist:
    """Rank bookkeeping and collectives; a no-op on one device."""

    def __init__(self, device_pref: str):
        import torch

        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        want_cuda = device_pref == "cuda" or (device_pref == "auto" and torch.cuda.is_available())
        if device_pref == "cuda" and not torch.cuda.is_available():
            raise SwegymError("device 'cuda' requested but no GPU is visible; use --config with device: cpu")
        self.device = torch.device(f"cuda:{local}" if want_cuda else "cpu")
        if want_cuda:
            torch.cuda.set_device(self.device)
        if self.world > 1:
            import torch.distributed as dist

            if not want_cuda:
                raise SwegymError("multi-process training needs GPUs (torchrun with one process per GPU)")
            dist.init_process_group("nccl")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def sharded(self) -> bool:
        return self.world > 1

    def init_device(self) -> Any:
        """Where the model is built: ``meta`` when FSDP materialises it shard by shard."""
        import torch

        return torch.device("meta") if self.sharded else self.device

    def all_sum(self, value: float) -> float:
        if not self.sharded:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], device=self.device, dtype=torch.float64)
        dist.all_reduce(t)
        return float(t.item())

    def barrier(self) -> None:
        if self.sharded:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.sharded:
            import torch.distributed as dist

            dist.destroy_process_group()


def load_weights(model: Any, state_dict: dict[str, Any], dist: Dist, dtype: Any) -> Any:
    """Load ``state_dict`` (non-strict) into ``model``, sharding it first under ``torchrun``.

    Returns the load result (``missing_keys``, ``unexpected_keys``).
    """
    if not dist.sharded:
        return model.load_state_dict(state_dict, strict=False)
    from torchtune import training
    from torchtune.modules import TransformerSelfAttentionLayer
    from torchtune.modules.peft import LoRALinear

    training.shard_model(model, [lambda n, m: isinstance(m, TransformerSelfAttentionLayer)],
                         cpu_offload=False, reshard_after_forward=True)
    # Like torchtune's distributed recipes: buffers and fresh adapters are not in the checkpoint.
    with training.set_default_dtype(dtype), dist.device:
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_a.to_empty(device=dist.device)
                m.lora_b.to_empty(device=dist.device)
                m.initialize_parameters()
            if hasattr(m, "rope_init"):
                m.rope_init()
    return training.load_from_full_model_state_dict(model, state_dict, dist.device, strict=False)


def split_packs(packs: list, dist: Dist) -> list:
    """This rank's share of ``packs``; every rank gets the same number (the remainder is dropped)."""
    if not dist.sharded:
        return packs
    if len(packs) % dist.world:
        packs = packs[: len(packs) - len(packs) % dist.world]
        if not packs:
            raise SwegymError(f"fewer packed rows than GPUs ({dist.world}); add data or use fewer processes")
    return packs[dist.rank::dist.world]


def full_state_dict(model: Any, dist: Dist) -> dict[str, Any]:
    """The whole model's weights on CPU (gathered on rank 0 under ``torchrun``; empty elsewhere)."""
    if dist.sharded:
        from torchtune import training

        return training.gather_cpu_state_dict(model, dist.main, device=dist.device)
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}
