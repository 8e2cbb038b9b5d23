"""``swegym report``: tables, pass@k / best@k plots and a static HTML trajectory viewer for runs.

    from swegym.report import build_report
    build_report(["runs/a", "runs/b"], "report/")   # report/index.html, summary.json, *.png
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .runs import Rollout, default_scores_path, load_run, load_runs, run_label, test_results, unique_labels
from .summary import summarize


def build_report(sources: Iterable[str | Path], out_dir: str | Path, *, scores: Iterable[str | Path | None] | None = None,
                 trials: int = 100, seed: int = 0) -> dict[str, Any]:
    """Write ``summary.json``, ``pass_at_k.png``, ``best_at_k.png``, ``index.html`` and trajectory pages."""
    from .html import write_html
    from .plots import plot_curves

    sources = [Path(s) for s in sources]
    rollouts = load_runs(sources, scores)
    summary = summarize(rollouts, trials=trials, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary["sources"] = {label: str(src) for label, src in zip(unique_labels(sources), sources)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    plots = plot_curves(summary["runs"], out)
    index = write_html(out, summary, rollouts, plots, summary["sources"])
    return {"index": index, "summary": summary, "plots": plots, "rollouts": len(rollouts)}


__all__ = ["Rollout", "build_report", "default_scores_path", "load_run", "load_runs", "run_label", "summarize",
           "test_results"]
