"""swegym plugin: SFT trainers on torchtune (``torchtune-full``, ``torchtune-lora``).

Light on import: torch and torchtune load only when a trainer trains.
"""
from __future__ import annotations

from swegym import hookimpl


@hookimpl
def register_trainers(register):
    from .trainer import TorchtuneFullTrainer, TorchtuneLoraTrainer

    register("torchtune-full", TorchtuneFullTrainer)
    register("torchtune-lora", TorchtuneLoraTrainer)
