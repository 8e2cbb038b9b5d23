"""``rft.json``: the loop's config and one row per iteration, and its table for humans."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..files import write_json_atomic

SUMMARY = "rft.json"
COLUMNS = (("iteration", "iter"), ("policy", "policy"), ("rollouts", "rollouts"), ("resolved", "resolved"),
           ("resolve_rate", "rate"), ("train_samples", "train"), ("train_tasks", "tasks"),
           ("training", "training"), ("checkpoint", "checkpoint"))


def write_summary(work_dir: Path, summary: dict[str, Any]) -> Path:
    """Write atomically so a killed loop never leaves a half-written file."""
    path = Path(work_dir) / SUMMARY
    write_json_atomic(path, summary)
    return path


def read_summary(work_dir: str | Path) -> dict[str, Any]:
    path = Path(work_dir) / SUMMARY
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    if key == "resolve_rate":
        return f"{float(value):.1%}"
    if key == "checkpoint":
        return Path(str(value)).parent.name + "/" + Path(str(value)).name
    return str(value)


def format_table(summary: dict[str, Any]) -> str:
    """One line per iteration: resolve rate, training pool, samples trained on, checkpoint."""
    rows = [[_cell(r, key) for key, _ in COLUMNS] for r in summary.get("iterations", [])]
    head = [title for _, title in COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)
