"""Rejection-sampling fine-tuning (RFT), SWE-Gym's self-improvement loop.

Each iteration samples rollouts with the current policy, grades them, exports every resolved
trajectory so far (plus seed runs) as SFT data, trains a new checkpoint and points the next
iteration's policy at it:

    from swegym.rft import RFTConfig, run_rft
    summary = run_rft(RFTConfig(model="models/base", work_dir="rft", iterations=2), tasks)

Nothing heavy is imported here; torch/docker load only inside the stages that need them.
"""
from __future__ import annotations

from .config import RFTConfig
from .loop import RFTLoop, run_rft
from .summary import format_table, read_summary

__all__ = ["RFTConfig", "RFTLoop", "run_rft", "format_table", "read_summary"]
