"""The registered trainers: ``torchtune-full`` and ``torchtune-lora``, one class with a ``lora`` switch."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from swegym.interfaces import Trainer

from .config import TrainConfig


class TorchtuneTrainer(Trainer):
    """SFT with torchtune modules; writes an HF model directory.

    ``lora=True`` trains LoRA adapters only and also writes ``adapter/`` in PEFT layout
    (vLLM-loadable) beside the merged model.
    """

    def __init__(self, *, lora: bool = False, **options: Any):
        self.lora = bool(lora)
        self.name = "torchtune-lora" if self.lora else "torchtune-full"
        self.defaults = dict(options)

    def train(self, model: str | Path, data: str | Path, output_dir: str | Path, config: dict[str, Any] | None = None) -> Path:
        from .recipe import run

        cfg = TrainConfig.from_dict({**self.defaults, **(config or {})})
        return run(model, data, output_dir, cfg, lora=self.lora)


def full_trainer(**options: Any) -> TorchtuneTrainer:
    return TorchtuneTrainer(lora=False, **options)


def lora_trainer(**options: Any) -> TorchtuneTrainer:
    return TorchtuneTrainer(lora=True, **options)
