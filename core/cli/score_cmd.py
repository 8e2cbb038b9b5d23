"""``swegym score``: a verifier score per rollout, written next to the run as ``scores.jsonl``."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import SwegymError
from ..files import atomic_output
from .plugin_flags import uses


def write_scores(source: str | Path, verifier: object, verifier_label: str, output: str | Path | None = None,
                 template: str = "") -> tuple[Path, int]:
    """Score every rollout of one run and write one JSONL row per rollout (row = position in the run)."""
    from ..report.runs import default_scores_path, load_run

    rollouts = load_run(source, scores_path=None)
    if not rollouts:
        raise SwegymError(f"{source} holds no rollouts to score")
    out = Path(output) if output else default_scores_path(source)
    scores = verifier.score([r.traj for r in rollouts])  # type: ignore[attr-defined]
    if len(scores) != len(rollouts):
        raise SwegymError(f"the verifier returned {len(scores)} scores for {len(rollouts)} rollouts")
    with atomic_output(out) as fh:
        for r, score in zip(rollouts, scores):
            fh.write(json.dumps({
                "row": r.row, "instance_id": r.traj.instance_id, "sample_index": r.sample_index,
                "run_id": r.traj.run_id, "score": float(score), "verifier": verifier_label, "template": template,
                "resolved": r.traj.resolved,
            }) + "\n")
    return out, len(rollouts)


@click.command("score")
@click.option("--verifier", "verifier_name", default="orm", show_default=True,
              help="Verifier plugin (see `swegym plugins`). An existing directory here is read as --model DIR.")
@click.option("--model", default=None, type=click.Path(file_okay=False),
              help="Verifier model: a Hugging Face model directory (e.g. the output of training).")
@click.option("--run-dir", "run_dirs", multiple=True, required=True, type=click.Path(exists=True),
              help="Run directory with trajectories.jsonl, or a .jsonl file of rollouts (repeatable).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Rollouts per forward pass (local) or concurrent requests (server).")
@click.option("--verifier-opt", multiple=True, metavar="KEY=VALUE", help="Option passed to the verifier (repeatable).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Scores file (only with one --run-dir). Default: RUN/scores.jsonl or FILE.scores.jsonl.")
@uses("verifier")
def score_cmd(verifier_name: str, model: str | None, run_dirs: tuple[str, ...], batch_size: int,
              verifier_opt: tuple[str, ...], output: str | None) -> None:
    """Score every rollout of a run with a verifier: P(resolved) per rollout, into scores.jsonl.

    Each row is {row, instance_id, sample_index, run_id, score, verifier}; `swegym report`
    picks it up for best@k and the verifier's AUC and calibration.

    \b
    Examples:
      swegym score --model out/verifier --run-dir runs/sample16
      swegym score --model out/verifier --run-dir ../shared/data/openhands-trajectories-mixed.jsonl -o /tmp/mixed.scores.jsonl
      swegym score --api-base http://127.0.0.1:8000/v1 --api-model my-orm --run-dir runs/sample16 --batch-size 16
      swegym score --verifier my-plugin-verifier --verifier-opt threshold=0.5 --run-dir runs/sample16
    """
    from ..plugins import create, get_registry
    from .options import check_options, parse_options
    from .plugin_flags import plugin_options

    if output and len(run_dirs) > 1:
        raise SwegymError("--output works with a single --run-dir; drop it to write RUN/scores.jsonl for each run")
    registry = get_registry()
    if verifier_name not in registry.names("verifier") and Path(verifier_name).is_dir() and model is None:
        model, verifier_name = verifier_name, "orm"  # the older spelling: --verifier DIR
    registry.check(verifier=verifier_name)
    options = {"batch_size": batch_size, **({"model": model} if model else {}),
               **plugin_options("verifier", verifier_name), **parse_options(verifier_opt, "--verifier-opt")}
    check_options("verifier", verifier_name, options)
    verifier = create("verifier", verifier_name, **options)
    label = getattr(verifier, "label", None) or (str(Path(model)) if model else verifier_name)
    template = getattr(verifier, "template", None) or ""
    for run in run_dirs:
        path, n = write_scores(run, verifier, label, output, template)
        click.echo(f"scored {n} rollout(s) of {run} -> {path}")
