"""Training settings: defaults, validation, and the merge of YAML + flags.

Why a dataclass: one place that says which keys exist, so a typo in a YAML file is an error that
names the key instead of a silently ignored setting.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from swegym import SwegymError

# HF module names map onto torchtune's.
_ATTN = {"q_proj": "q_proj", "k_proj": "k_proj", "v_proj": "v_proj", "o_proj": "output_proj", "output_proj": "output_proj"}
_MLP = {"gate_proj", "up_proj", "down_proj", "w1", "w2", "w3", "mlp"}


@dataclass
class TrainConfig:
    """Every knob of the torchtune recipes. ``batch_size`` counts packed rows per device and micro-step."""

    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 1
    grad_accum: int = 1
    max_seq_len: int = 2048
    packing: bool = True
    weight_decay: float = 0.0
    warmup_steps: int = 0
    lr_scheduler: str = "cosine"  # cosine | constant
    max_grad_norm: float | None = 1.0
    max_steps: int | None = None
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp32
    activation_checkpointing: bool | None = None  # None: on for GPU
    loss_chunks: int = 8
    eot_tokens: list[str] = field(default_factory=list)
    progress: bool = True
    # LoRA (torchtune-lora only)
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    lora_mlp: bool = True
    save_merged: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TrainConfig":
        """Build from a flat dict; unknown keys raise SwegymError listing the valid ones."""
        data = {k.replace("-", "_"): v for k, v in (data or {}).items() if v is not None}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SwegymError(f"unknown training setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
        cfg = cls(**data)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "grad_accum", "max_seq_len", "lora_rank", "loss_chunks"):
            if int(getattr(self, name)) < 1:
                raise SwegymError(f"training setting {name} must be ≥ 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise SwegymError(f"training setting lr must be > 0, got {self.lr}")
        if self.lr_scheduler not in ("cosine", "constant"):
            raise SwegymError(f"lr_scheduler must be 'cosine' or 'constant', got {self.lr_scheduler!r}")
        if self.dtype not in ("auto", "bf16", "fp32"):
            raise SwegymError(f"dtype must be auto, bf16 or fp32, got {self.dtype!r}")
        bad = [m for m in self.lora_target_modules if m not in _ATTN and m not in _MLP]
        if bad:
            raise SwegymError(f"unknown LoRA target module(s) {bad}; use q_proj, k_proj, v_proj, o_proj, "
                              "gate_proj, up_proj, down_proj")

    def lora_settings(self) -> dict[str, Any]:
        """LoRA settings in the shape torchtune's ``lora_*`` builders take."""
        attn = list(dict.fromkeys(_ATTN[m] for m in self.lora_target_modules if m in _ATTN))
        mlp = self.lora_mlp or any(m in _MLP for m in self.lora_target_modules)
        if not attn:
            raise SwegymError("LoRA needs at least one attention projection in lora_target_modules")
        return {"attn_modules": attn, "mlp": mlp, "rank": self.lora_rank, "alpha": self.lora_alpha,
                "dropout": self.lora_dropout, "apply_lora_to_output": False, "save_merged": self.save_merged}
