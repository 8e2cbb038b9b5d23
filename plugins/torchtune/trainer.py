"""The two registered trainers: ``torchtune-full`` and ``torchtune-lora``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from swegym.interfaces import Trainer

from .config import TrainConfig


class TorchtuneFullTrainer(Trainer):
    """Full-parameter SFT with torchtune modules; writes an HF model directory."""

    name = "torchtune-full"
    lora = False

    def __init__(self, **options: Any):
        self.defaults = dict(options)

    def train(self, model: str | Path, data: str | Path, output_dir: str | Path, config: dict[str, Any] | None = None) -> Path:
        from .recipe import run

        cfg = TrainConfig.from_dict({**self.defaults, **(config or {})})
        return run(model, data, output_dir, cfg, lora=self.lora)


class TorchtuneLoraTrainer(TorchtuneFullTrainer):
    """LoRA SFT; writes the merged HF model plus ``adapter/`` in PEFT layout (vLLM-loadable)."""

    name = "torchtune-lora"
    lora = True
