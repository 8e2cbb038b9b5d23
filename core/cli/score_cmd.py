"""``swegym score``: a verifier score per rollout, written next to the run as ``scores.jsonl``."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import SwegymError
from ..files import atomic_output


def write_scores(source: str | Path, verifier: object, verifier_label: str, output: str | Path | None = None,
                 template: str = "openhands") -> tuple[Path, int]:
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
@click.option("--verifier", "verifier_dir", type=click.Path(file_okay=False), default=None,
              help="Verifier model: a Hugging Face model directory (e.g. the output of training).")
@click.option("--run-dir", "run_dirs", multiple=True, required=True, type=click.Path(exists=True),
              help="Run directory with trajectories.jsonl, or a .jsonl file of rollouts (repeatable).")
@click.option("--api-base", default=None, help="Score through an OpenAI-compatible server instead (http://HOST:PORT/v1).")
@click.option("--api-model", default=None, help="The model name the server serves (with --api-base).")
@click.option("--template", type=click.Choice(["openhands", "moatless"]), default="openhands", show_default=True,
              help="Verifier prompt format the model was trained on.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Rollouts per forward pass (local) or concurrent requests (server).")
@click.option("--max-length", type=click.IntRange(min=8), default=None,
              help="Cut prompts longer than this many tokens from the left (default: the model's context).")
@click.option("--device", default="cpu", show_default=True, help="torch device for a local verifier.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Scores file (only with one --run-dir). Default: RUN/scores.jsonl or FILE.scores.jsonl.")
def score_cmd(verifier_dir: str | None, run_dirs: tuple[str, ...], api_base: str | None, api_model: str | None,
              template: str, batch_size: int, max_length: int | None, device: str, output: str | None) -> None:
    """Score every rollout of a run with a verifier: P(resolved) per rollout, into scores.jsonl.

    Each row is {row, instance_id, sample_index, run_id, score, verifier}; `swegym report`
    picks it up for best@k and the verifier's AUC and calibration.

    \b
    Examples:
      swegym score --verifier out/verifier --run-dir runs/sample16
      swegym score --verifier out/verifier --run-dir ../shared/data/openhands-trajectories-mixed.jsonl -o /tmp/mixed.scores.jsonl
      swegym score --api-base http://127.0.0.1:8000/v1 --api-model my-orm --run-dir runs/sample16 --batch-size 16
    """
    from ..plugins import create

    if output and len(run_dirs) > 1:
        raise SwegymError("--output works with a single --run-dir; drop it to write RUN/scores.jsonl for each run")
    if (verifier_dir is None) == (api_base is None):
        raise SwegymError("pass exactly one of --verifier DIR (local model) or --api-base URL (server)")
    if verifier_dir is not None:
        verifier = create("verifier", "orm", model=verifier_dir, batch_size=batch_size, template=template,
                          max_length=max_length, device=device)
        label = str(Path(verifier_dir))
    else:
        verifier = create("verifier", "orm", api_base=api_base, api_model=api_model, batch_size=batch_size,
                          template=template)
        label = f"{api_base}#{api_model}"
    for run in run_dirs:
        path, n = write_scores(run, verifier, label, output, template)
        click.echo(f"scored {n} rollout(s) of {run} -> {path}")
