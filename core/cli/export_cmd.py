"""``swegym export sft|orm|predictions``: training data or SWE-bench predictions from rollouts."""
from __future__ import annotations

import json
from typing import Any, Callable

import click

from ..export.orm import TEMPLATES
from ..export.sft import FORMATS


def _input_options(fn: Callable) -> Callable:
    decorators = [
        click.option("--run-dir", "run_dirs", multiple=True, required=True, type=click.Path(exists=True),
                     help="A run directory (with trajectories.jsonl) or a .jsonl of trajectories / SWE-Gym "
                          "released rows (repeatable: several runs are mixed)."),
        click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output JSONL file."),
        click.option("--max-tokens", type=click.IntRange(min=1), default=None,
                     help="Drop samples longer than this many tokens (needs --tokenizer)."),
        click.option("--tokenizer", type=click.Path(exists=True, file_okay=False), default=None,
                     help="Local Hugging Face tokenizer folder of the target model (for --max-tokens)."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def _report(stats: Any, output: str) -> None:
    skipped = ", ".join(f"{k}={v}" for k, v in sorted(stats.skipped.items())) or "none"
    click.echo(f"read {stats.read} trajectories, wrote {stats.written} samples ({stats.tasks} tasks) to {output}; "
               f"skipped: {skipped}", err=True)
    click.echo(json.dumps(stats.to_dict() | {"output": output}))


@click.group("export")
def export_group() -> None:
    """Export rollouts: SFT conversations, verifier (ORM) conversations, or SWE-bench predictions.

    \b
    Examples:
      swegym export sft --run-dir runs/r1 -o sft.jsonl
      swegym export orm --run-dir runs/r1 --run-dir runs/r2 -o orm.jsonl
      swegym export predictions --run-dir runs/r1 -o preds.jsonl
    """


@export_group.command("sft")
@_input_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="openhands-text", show_default=True,
              help="openhands-text: SWE-Gym's SFT text format; tool-calls: native tool calls + tools; "
                   "moatless-calls: one sample per Moatless state visit, exactly the messages the SWE-Gym "
                   "fork sent and the reply it got (its SFT format).")
@click.option("--include-unresolved", is_flag=True, help="Also export rollouts that did not resolve their task.")
@click.option("--max-per-task", type=click.IntRange(min=1), default=None, help="At most this many samples per task.")
def sft_cmd(run_dirs: tuple[str, ...], output: str, max_tokens: int | None, tokenizer: str | None, fmt: str,
            include_unresolved: bool, max_per_task: int | None) -> None:
    """Write SFT conversations (resolved rollouts only by default) as JSONL.

    \b
    Examples:
      swegym export sft --run-dir runs/r1 -o sft.jsonl
      swegym export sft --run-dir ../shared/data/openhands-trajectories-sample.jsonl -o sft.jsonl
      swegym export sft --run-dir runs/r1 --format tool-calls --max-per-task 2 -o sft.jsonl
      swegym export sft --run-dir runs/r1 --max-tokens 32768 --tokenizer models/qwen -o sft.jsonl
    """
    from ..export.sft import export_sft

    stats = export_sft(list(run_dirs), output, format=fmt, include_unresolved=include_unresolved,
                       max_tokens=max_tokens, tokenizer=tokenizer, max_per_task=max_per_task)
    _report(stats, output)


@export_group.command("orm")
@_input_options
@click.option("--template", type=click.Choice(TEMPLATES), default="openhands", show_default=True,
              help="Verifier prompt: openhands (turn-by-turn log, YES/NO) or moatless (issue + patch + spans, True/False).")
@click.option("--negative-ratio", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Unresolved rollouts sampled per resolved one.")
@click.option("--all-negatives", is_flag=True, help="Keep every unresolved rollout (ignores --negative-ratio).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling negatives.")
@click.option("-d", "--dataset", default=None,
              help="Task source giving the issue text for --template moatless when trajectories lack it.")
def orm_cmd(run_dirs: tuple[str, ...], output: str, max_tokens: int | None, tokenizer: str | None, template: str,
            negative_ratio: float, all_negatives: bool, seed: int, dataset: str | None) -> None:
    """Write verifier (ORM) training conversations: system, user prompt, judgement.

    \b
    Examples:
      swegym export orm --run-dir runs/r1 -o orm.jsonl
      swegym export orm --run-dir runs/r1 --run-dir runs/r2 --negative-ratio 2 --seed 1 -o orm.jsonl
      swegym export orm --run-dir runs/moatless --template moatless -d demo -o orm.jsonl
    """
    from ..export.orm import export_orm

    tasks = None
    if dataset:
        from ..tasks import load_tasks

        tasks = {t.instance_id: t for t in load_tasks(dataset)}
    stats = export_orm(list(run_dirs), output, template=template, negative_ratio=None if all_negatives else negative_ratio,
                       seed=seed, max_tokens=max_tokens, tokenizer=tokenizer, tasks=tasks)
    _report(stats, output)


@export_group.command("predictions")
@click.option("--run-dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="A run directory of `swegym run` (with trajectories.jsonl).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file. Default: RUN/preds.jsonl (sample 0), RUN/preds.<i>.jsonl (sample i), "
                   "RUN/preds.best.jsonl (--best-of).")
@click.option("--sample", type=click.IntRange(min=0), default=None,
              help="Only this sample index (default: every sample, one file each).")
@click.option("--best-of", is_flag=True, help="Per instance the rollout with the highest verifier score "
                                              "(scores.jsonl from `swegym score`; ties: lowest sample index).")
@click.option("--scores", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Scores file for --best-of (default RUN/scores.jsonl).")
@click.option("--model", "model", default=None,
              help="model_name_or_path to write (default: the run's --model, else its policy name).")
def predictions_cmd(run_dir: str, output: str | None, sample: int | None, best_of: bool, scores: str | None,
                    model: str | None) -> None:
    """Write SWE-bench predictions (instance_id, model_name_or_path, model_patch) of a run as JSONL.

    The files go straight into sb-cli or `python -m swebench.harness.run_evaluation
    --predictions_path`. `swegym run` already writes them as rollouts finish; this rewrites them.

    \b
    Examples:
      swegym export predictions --run-dir runs/r1                      # RUN/preds.jsonl, RUN/preds.1.jsonl, ...
      swegym export predictions --run-dir runs/r1 --sample 2 -o preds.jsonl
      swegym export predictions --run-dir runs/r1 --best-of -o best.jsonl
    """
    from ..export.predictions import export_predictions

    if best_of and sample is not None:
        raise click.UsageError("--best-of picks one sample per instance itself; drop --sample")
    for path, n in export_predictions(run_dir, output, sample=sample, best_of=best_of, model=model, scores=scores):
        click.echo(f"wrote {n} prediction(s) to {path}", err=True)
        click.echo(json.dumps({"output": str(path), "predictions": n}))
