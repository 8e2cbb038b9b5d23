"""The driver loop: plan tasks × samples, skip what is done, execute, write, report progress."""
from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Sequence

from ..errors import DataError
from ..files import write_text_atomic, write_text_safe
from ..jsonl import dumps_line
from ..plugins import get_registry
from ..redaction import redact, redact_command, secret_values
from ..types import EvalResult, Task
from .config import RunConfig
from .record import ROW_VERSION, scaffold_part
from .rollout import RolloutRequest, execute_rollout
from .rundir import RunDir, row_key

_RESUMABLE_FIELDS = ("scaffold", "scaffold_options", "policy", "policy_options", "runtime", "samples",
                     "temperature", "first_greedy", "top_p", "max_tokens", "seed", "evaluate")


def report_key(instance_id: str, sample_index: int, samples: int) -> str:
    """The report.json key of a rollout: the instance id, with ``#k`` when there are k > 1 samples."""
    return instance_id if samples == 1 else f"{instance_id}#{sample_index}"


def _requirements() -> list[str]:
    import importlib.metadata as md
    import re

    try:
        return [re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0] for req in md.requires("swegym") or []]
    except md.PackageNotFoundError:  # a source tree without install
        return []


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    names = {"swegym"} | {c.package for c in get_registry().components.values() if c.package != "?"}
    # The libraries swegym's extras name (docker, torch, litellm…): read from its own metadata.
    for requirement in _requirements():
        names.add(requirement)
    out = {}
    for name in sorted(names):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _manifest(config: RunConfig, run_id: str, tasks: Sequence[Task], dataset: str | None,
              executor: str, executor_options: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "dataset": dataset,
        "instance_ids": [t.instance_id for t in tasks],
        "config": config.public(),
        "executor": redact({"name": executor, **executor_options}),
        "seeds": {"base": config.seed, "per_rollout": "sha256(seed:instance_id:sample_index)[:8]"},
        "versions": _versions(),
        "git_revision": _git_revision(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": redact_command(sys.argv, secret_values(dataclasses.asdict(config))) if sys.argv else None,
    }


def _check_resumable(old: dict[str, Any], config: RunConfig, path: Path) -> None:
    from ..options import canonical

    new = config.public()
    before = dict(old.get("config", {}))
    for kind in ("scaffold", "policy"):  # older option names (max_iterations…) compare as today's
        key = f"{kind}_options"
        if isinstance(before.get(key), dict) and before.get(kind) == new.get(kind):
            before[key] = canonical(kind, new[kind], before[key])
            new[key] = canonical(kind, new[kind], new[key])
    changed = [f for f in _RESUMABLE_FIELDS if before.get(f) != new.get(f)]
    if changed:
        raise DataError(f"this run directory was started with a different {', '.join(changed)}; "
                        f"resume with the same settings or pick a new --run-dir", path=str(path))


def _make_executor(name: str, options: dict[str, Any]) -> Any:
    return get_registry().create("executor", name, **options)


def run(config: RunConfig, tasks: Sequence[Task], run_dir: str | Path, *, executor: str = "local",
        executor_options: dict[str, Any] | None = None, dataset: str | None = None, progress: bool = True,
        retry_errors: bool = False) -> dict[str, Any]:
    """Roll out every task ``config.samples`` times into ``run_dir``; resume what is missing.

    Returns the run summary (also in ``report.json``): agent outcomes and infrastructure errors
    counted apart.
    """
    from ..export.predictions import PredictionsWriter, model_label
    from ..harness import ReportWriter

    executor_options = dict(executor_options or {})
    rd = RunDir(run_dir)
    rd.acquire()
    try:
        removed = rd.repair()
        old = rd.read_manifest()
        if old is not None:
            _check_resumable(old, config, rd.path)
            run_id = old["run_id"]
        else:
            run_id = f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        manifest = _manifest(config, run_id, tasks, dataset, executor, executor_options)
        if old is not None:
            manifest["created_at"] = old.get("created_at", manifest["created_at"])
            manifest["resumed_at"] = (old.get("resumed_at") or []) + [dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")]
        rd.write_manifest(manifest)
        if retry_errors:
            _drop_error_rows(rd)
        done = rd.done_keys()
        if old is not None:
            _cleanup_stale(config, run_id)
        requests = [RolloutRequest(config, task, k, run_id)
                    for task in tasks for k in range(config.samples) if (task.instance_id, k) not in done]
        report = ReportWriter(rd.path)
        _backfill_report(rd, report, config.samples)
        preds = PredictionsWriter(rd.path, model_label(config.public()))
        preds.rebuild(rd.rows())  # SWE-bench preds[.i].jsonl: rebuilt from the rows, so a resume repeats none
        stats = _Progress(total=len(requests), already=len(done), enabled=progress, torn=removed)
        pool = _make_executor(executor, executor_options)
        try:
            for record in pool.map_unordered(execute_rollout, requests):
                row = record.to_row()
                _record(rd, report, row, config.samples)
                preds.add(row)
                stats.update(row)
        finally:
            report.flush()
            pool.close()
            stats.close()
        summary = run_summary(rd)
        return summary
    finally:
        rd.release()


def _record(rd: RunDir, report: Any, row: dict[str, Any], samples: int) -> None:
    """Write the evaluation log to its file, the row (without the log) to trajectories.jsonl.

    A row that cannot be written (a value JSON cannot hold, nesting too deep) becomes that
    rollout's ``error`` row with the reason; the rest of the run stands.
    """
    try:
        _record_row(rd, report, row, samples)
    except (ValueError, TypeError, UnicodeError, RecursionError) as exc:
        iid, k = row_key(row)
        reason = f"the rollout's row could not be written: {type(exc).__name__}: {str(exc)[:500]}"
        rd.append({"version": ROW_VERSION, "instance_id": iid, "run_id": row.get("run_id"), "status": "error",
                   "resolved": False, "metadata": {"scaffold": {}, "rollout": {"sample_index": k}},
                   "evaluation": {"instance_id": iid, "status": "error", "error": reason}})
        report.add(report_key(iid, k, samples), EvalResult(iid, "error", error=reason))


def _record_row(rd: RunDir, report: Any, row: dict[str, Any], samples: int) -> None:
    iid, k = row_key(row)
    evaluation = row.get("evaluation")
    if evaluation is not None:
        result = EvalResult.from_dict(evaluation)
        report.add(report_key(iid, k, samples), result, row.get("patch"))
        evaluation.pop("log", None)
    rd.append(row)
    if row.get("status") == "error":
        write_text_safe(rd.rollout_log(iid, k), str((evaluation or {}).get("error")))


def _backfill_report(rd: RunDir, report: Any, samples: int) -> None:
    """Rows written before a crash whose report entry was not: add them (log is in the row's file)."""
    for row in rd.rows():
        iid, k = row_key(row)
        key = report_key(iid, k, samples)
        if row.get("evaluation") and key not in report.instances:
            report.add(key, EvalResult.from_dict(row["evaluation"]), row.get("patch"))


def _drop_error_rows(rd: RunDir) -> None:
    keep = [r for r in rd.rows() if r.get("status") != "error"]
    write_text_atomic(rd.trajectories_path, "".join(dumps_line(r) for r in keep), fsync=True)


def _cleanup_stale(config: RunConfig, run_id: str) -> None:
    """A resumed run first removes sandboxes its killed predecessor left behind."""
    try:
        runtime = get_registry().create("runtime", config.runtime, run_id=run_id, **config.runtime_options)
    except Exception as exc:  # noqa: BLE001 - the rollouts will report the real problem
        print(f"warning: could not check for leftover sandboxes: {exc}", file=sys.stderr)
        return
    try:
        removed = runtime.cleanup(run_id)
        if removed:
            print(f"removed {removed} leftover sandbox(es) of run {run_id}", file=sys.stderr)
    finally:
        runtime.close()


def run_summary(rd: RunDir) -> dict[str, Any]:
    """Counts by status, agent outcomes and infrastructure errors apart, plus tokens and cost."""
    from ..types import EVAL_STATUSES

    counts = {s: 0 for s in EVAL_STATUSES}
    counts["not_evaluated"] = 0
    prompt = completion = 0
    cost = 0.0
    total = 0
    for row in rd.rows():
        total += 1
        status = row.get("status") or "not_evaluated"
        counts[status] = counts.get(status, 0) + 1
        usage = scaffold_part(row.get("metadata") or {}).get("usage") or {}
        prompt += int(usage.get("prompt_tokens") or 0)
        completion += int(usage.get("completion_tokens") or 0)
        cost += float(usage.get("cost") or 0.0)
    agent = total - counts["error"]
    return {
        "rollouts": total,
        "resolved": counts["resolved"],
        "resolve_rate": round(counts["resolved"] / agent, 4) if agent else 0.0,
        "agent_outcomes": {k: v for k, v in counts.items() if k != "error"},
        "infrastructure_errors": counts["error"],
        "tokens": {"prompt": prompt, "completion": completion},
        "cost": round(cost, 6),
    }


class _Progress:
    """A tqdm bar with rate, ETA, resolved so far, tokens and cost."""

    def __init__(self, total: int, already: int, enabled: bool, torn: int) -> None:
        self.resolved = self.errors = self.tokens = 0
        self.cost = 0.0
        self.bar = None
        if torn:
            print(f"resuming: cut a torn last row ({torn} bytes) left by a killed run", file=sys.stderr)
        if already:
            print(f"resuming: {already} rollout(s) already done, {total} to go", file=sys.stderr)
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="rollout", dynamic_ncols=True, file=sys.stderr)

    def update(self, row: dict[str, Any]) -> None:
        self.resolved += bool(row.get("resolved"))
        self.errors += row.get("status") == "error"
        usage = scaffold_part(row.get("metadata") or {}).get("usage") or {}
        self.tokens += int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
        self.cost += float(usage.get("cost") or 0.0)
        if self.bar is not None:
            self.bar.set_postfix(resolved=self.resolved, errors=self.errors, tokens=self.tokens,
                                 cost=f"${self.cost:.4f}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
