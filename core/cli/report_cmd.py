"""``swegym report``: tables, pass@k / best@k plots and a static HTML trajectory viewer for runs."""
from __future__ import annotations

import click

from ..errors import SwegymError


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for index.html, summary.json, pass_at_k.png, best_at_k.png and trajectory pages.")
@click.option("--scores", "scores", multiple=True, type=click.Path(dir_okay=False),
              help="Scores file per run, in the order of RUNS (default: RUN/scores.jsonl or FILE.scores.jsonl if present).")
@click.option("--trials", type=click.IntRange(min=1), default=100, show_default=True,
              help="Random subsets per k for pass@k and best@k.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the subset draws.")
def report_cmd(runs: tuple[str, ...], out_dir: str, scores: tuple[str, ...], trials: int, seed: int) -> None:
    """Build a static report of one or more runs: resolve rates, pass@k/best@k, tokens, cost, trajectories.

    RUNS are run directories (trajectories.jsonl, optional scores.jsonl) or .jsonl files of
    rollouts, including SWE-Gym's released trajectory rows. The HTML opens offline.

    \b
    Examples:
      swegym report runs/sample16 -o report/
      swegym report runs/gpt4o runs/qwen32b -o report/ --trials 200
      swegym report ../shared/data/openhands-trajectories-mixed.jsonl --scores /tmp/mixed.scores.jsonl -o /tmp/report
    """
    from ..report import build_report

    if scores and len(scores) != len(runs):
        raise SwegymError(f"{len(runs)} run(s) but {len(scores)} --scores file(s); give one per run, in order, or none")
    result = build_report(runs, out_dir, scores=list(scores) or None, trials=trials, seed=seed)
    summary = result["summary"]
    for name, run in summary["runs"].items():
        rate = run["resolve_rate"]["resolve_rate"]
        curve = run["curves"]
        last = curve[-1] if curve else None
        line = f"{name}: {run['resolve_rate']['resolved']}/{run['resolve_rate']['graded']} resolved"
        if rate is not None:
            line += f" ({100 * rate:.1f}%)"
        if last:
            line += f", pass@{last['k']} {100 * last['pass_at_k']:.1f}%"
            if last["best_at_k"] is not None:
                line += f", best@{last['k']} {100 * last['best_at_k']:.1f}%"
        if run["verifier"] and run["verifier"]["auc"] is not None:
            line += f", verifier AUC {run['verifier']['auc']:.3f}"
        click.echo(line)
    click.echo(f"report: {result['index']}")
