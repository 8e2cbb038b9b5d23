"""Rollouts at scale: tasks × k samples, evaluated, written to a resumable run directory.

    from swegym.orchestration import RunConfig, run
    summary = run(RunConfig(scaffold="openhands", policy="replay", policy_options={"path": "t.jsonl"}),
                  tasks, "runs/demo")

The driver alone writes the run directory; rollouts run in an executor (local threads or
processes, or Ray through the ``ray`` plugin) and stream their rows back.
"""
from __future__ import annotations

from .config import RunConfig
from .engine import run
from .record import ROW_VERSION, RolloutKey, RolloutRecord
from .rollout import execute_rollout
from .rundir import RunDir

__all__ = ["RunConfig", "run", "RunDir", "RolloutKey", "RolloutRecord", "ROW_VERSION", "execute_rollout"]
