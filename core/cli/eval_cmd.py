"""``swegym eval`` (grade predictions) and ``swegym validate`` (check a dataset's gold patches)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import DataError, SwegymError
from ..tasks import load_tasks
from .options import dataset_options, runtime_options, step_and_grading_options
from .swebench_flags import SwebenchFlagsCommand


def _eval_options(fn):
    """Options of the grading loop (the runtime's come from :func:`runtime_options`)."""
    decorators = [
        click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Evaluations run in parallel."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return runtime_options(step_and_grading_options(fn))


def _make_runtime(name: str, options: dict[str, Any]):
    from ..plugins import create

    return create("runtime", name, **options)


def _print_summary(summary: dict[str, int]) -> None:
    width = max(len(k) for k in summary)
    for key, value in summary.items():
        click.echo(f"{key:<{width}}  {value}")


@click.command("eval", cls=SwebenchFlagsCommand)
@dataset_options
@click.option("--predictions", "predictions_path", required=True, type=click.Path(dir_okay=False),
              help="SWE-bench predictions: JSON list or JSONL of {instance_id, model_patch, model_name_or_path}; "
                   "'gold' grades the dataset's own patches.")
@click.option("--run-dir", default=None, type=click.Path(file_okay=False),
              help="Where report.json and logs/<instance_id>/ go; re-running resumes from it. Default: runs/eval-RUN_ID.")
@click.option("--run-id", default=None,
              help="Names the SWE-bench report <model>.<run_id>.json (default: the run directory's name).")
@click.option("--report-dir", default=None, type=click.Path(file_okay=False),
              help="Folder for the SWE-bench report (default: the run directory).")
@click.option("--strict-grading", is_flag=True,
              help="Grade patches that touch test infrastructure (conftest.py, sitecustomize, pytest settings) "
                   "outside the task's test files as unresolved. Off by default, as in SWE-bench.")
@_eval_options
def eval_cmd(dataset: str, split: str | None, instance_ids: tuple[str, ...], repo: tuple[str, ...], limit: int | None,
             predictions_path: str, run_dir: str | None, run_id: str | None, report_dir: str | None,
             strict_grading: bool,
             runtime_name: str, runtime_options: dict[str, Any], workers: int,
             eval_timeout: float, infra_retries: int, env_spec: str | None) -> None:
    """Grade model patches with SWE-bench semantics; write RUN_DIR/report.json, each test log, and
    SWE-bench's run report <model>.<run_id>.json.

    Finished instances in an existing report are skipped (infrastructure errors are retried).
    SWE-bench's flag spellings work too: --dataset_name, --predictions_path, --run_id,
    --max_workers, --instance_ids A B ..., --report_dir. Dataset names: lite, verified, gym,
    gym-lite, a Hugging Face name, a file, or demo.

    \b
    Examples:
      swegym eval -d demo --predictions preds.jsonl --run-dir runs/eval1
      swegym eval -d tasks.jsonl --predictions preds.json --run-dir runs/eval1 --workers 4
      swegym eval --dataset_name lite --predictions_path preds.jsonl --run_id r1 --max_workers 8
      swegym eval -d demo --predictions preds.jsonl --run-dir R --docker-host tcp://127.0.0.1:2375
      swegym eval -d tasks.jsonl --predictions p.jsonl --run-dir R --repo-source getmoto/moto=./moto.git
    """
    from ..harness import evaluate_many, load_predictions, load_report
    from ..harness.predictions import Prediction
    from ..harness.swebench_report import write_swebench_report

    if run_dir is None and run_id is None:
        raise SwegymError("pass --run-dir DIR (or --run-id ID, which writes to runs/eval-ID)")
    run_dir = run_dir or str(Path("runs") / f"eval-{run_id}")
    run_id = run_id or Path(run_dir).resolve().name
    if predictions_path == "gold":
        predictions = {t.instance_id: Prediction(t.instance_id, t.patch, "gold")
                       for t in load_tasks(dataset, split=split, instance_ids=instance_ids or None,
                                           repo=repo or None, limit=limit)}
    else:
        predictions = load_predictions(predictions_path)
    tasks = load_tasks(dataset, split=split, instance_ids=instance_ids or None, repo=repo or None, limit=None)
    by_id = {t.instance_id: t for t in tasks}
    unknown = [iid for iid in predictions if iid not in by_id and not instance_ids and not repo]
    if unknown:
        raise DataError(f"{len(unknown)} prediction(s) name instances not in dataset {dataset!r}: "
                        f"{', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}. Pass the dataset they came from with -d.",
                        path=predictions_path)
    jobs = [(by_id[iid], p.model_patch) for iid, p in predictions.items() if iid in by_id]
    if limit is not None:
        jobs = jobs[:limit]
    runtime = _make_runtime(runtime_name, runtime_options)
    try:
        evaluate_many(jobs, runtime, workers=workers, timeout=eval_timeout, retries=infra_retries, run_dir=run_dir, desc="eval",
                      spec_file=env_spec, strict_grading=strict_grading)
    finally:
        runtime.close()
    report = load_report(run_dir)
    _print_summary(report["summary"])
    click.echo(f"report: {run_dir}/report.json", err=True)
    sb_path = write_swebench_report(report_dir or run_dir, run_id, {iid: vars(p) for iid, p in predictions.items()},
                                    [t.instance_id for t in tasks], run_dir)
    click.echo(f"SWE-bench report: {sb_path}", err=True)
    if report["summary"].get("error"):
        click.echo(f"warning: {report['summary']['error']} instance(s) hit infrastructure errors (not counted "
                   f"against the model); re-run the same command to retry them", err=True)


@click.command("validate")
@dataset_options
@_eval_options
def validate_cmd(dataset: str, split: str | None, instance_ids: tuple[str, ...], repo: tuple[str, ...],
                 limit: int | None, runtime_name: str, runtime_options: dict[str, Any], workers: int, eval_timeout: float,
                 infra_retries: int, env_spec: str | None) -> None:
    """Check tasks: the gold patch must resolve, the empty patch must not. Exit 1 if any task fails.

    The empty-patch run really runs the tests on the unpatched repository, so it proves the
    FAIL_TO_PASS tests fail without the fix.

    \b
    Examples:
      swegym validate -d demo --workers 2
      swegym validate -d tasks.jsonl --instance-id getmoto__moto-1234
      swegym validate -d moto.jsonl --repo-source getmoto/moto=../shared/data/repos/getmoto+moto.git
    """
    from ..harness import evaluate_many

    tasks = load_tasks(dataset, split=split, instance_ids=instance_ids or None, repo=repo or None, limit=limit)
    if not tasks:
        raise SwegymError(f"no tasks selected from {dataset!r}")
    runtime = _make_runtime(runtime_name, runtime_options)
    try:
        gold = evaluate_many([(t, t.patch) for t in tasks], runtime, workers=workers, timeout=eval_timeout,
                             retries=infra_retries, desc="gold patches", spec_file=env_spec)
        empty = evaluate_many([(t, "") for t in tasks], runtime, workers=workers, timeout=eval_timeout, retries=infra_retries,
                              run_empty=True, desc="empty patches", spec_file=env_spec)
    finally:
        runtime.close()
    failures = 0
    width = max(len(t.instance_id) for t in tasks)
    click.echo(f"{'instance':<{width}}  {'gold':<18} {'empty':<18} ok")
    for t in tasks:
        g, e = gold[t.instance_id], empty[t.instance_id]
        ok = g.status == "resolved" and e.status == "unresolved"
        failures += not ok
        click.echo(f"{t.instance_id:<{width}}  {g.status:<18} {e.status:<18} {'yes' if ok else 'NO'}")
        for label, r in (("gold", g), ("empty", e)):
            if r.error and not ok:
                click.echo(f"  {label}: {r.error}", err=True)
            if label == "gold" and r.status == "unresolved" and not ok:
                bad = (r.details.get("tests_status") or {})
                click.echo(f"  gold: failing FAIL_TO_PASS {bad.get('FAIL_TO_PASS', {}).get('failure')}, "
                           f"PASS_TO_PASS {bad.get('PASS_TO_PASS', {}).get('failure')}", err=True)
    click.echo(f"{len(tasks) - failures}/{len(tasks)} task(s) valid", err=True)
    if failures:
        sys.exit(1)


__all__ = ["eval_cmd", "validate_cmd"]
