"""swegym plugin: SFT trainers on torchtune (``torchtune-full``, ``torchtune-lora``).

Light on import: torch and torchtune load only when a trainer trains.
"""
from __future__ import annotations

from swegym import hookimpl


@hookimpl
def register_trainers(register):
    from .trainer import full_trainer, lora_trainer

    register("torchtune-full", full_trainer)
    register("torchtune-lora", lora_trainer)
