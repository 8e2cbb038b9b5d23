"""The numbers of a report: resolve rates, pass@k / best@k curves, verifier quality, tokens and cost.

Infrastructure errors (status ``error``) are listed but never counted as agent failures: they
are left out of every rate and curve.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

from .. import metrics
from .runs import Rollout


def _rate_table(rollouts: list[Rollout], key: Callable[[Rollout], str]) -> list[dict[str, Any]]:
    groups: dict[str, list[Rollout]] = defaultdict(list)
    for r in rollouts:
        groups[key(r) or "?"].append(r)
    rows = []
    for name in sorted(groups):
        group = groups[name]
        graded = [r for r in group if r.graded]
        resolved = sum(r.resolved for r in graded)
        rows.append({
            "name": name,
            "rollouts": len(group),
            "graded": len(graded),
            "resolved": resolved,
            "resolve_rate": resolved / len(graded) if graded else None,
            "infra_errors": sum(r.status == "error" for r in group),
            "tasks": len({r.traj.instance_id for r in group}),
        })
    return rows


def samples_per_task(rollouts: list[Rollout]) -> tuple[dict[str, list[bool]], dict[str, list[float]] | None]:
    """Graded outcomes (and scores when every graded rollout has one) per task, in sample order."""
    by_task: dict[str, list[Rollout]] = defaultdict(list)
    for r in rollouts:
        if r.graded:
            by_task[r.traj.instance_id].append(r)
    results, scores = {}, {}
    complete = True
    for tid, group in by_task.items():
        group.sort(key=lambda r: (r.sample_index, r.row))
        results[tid] = [r.resolved for r in group]
        if any(r.score is None for r in group):
            complete = False
        else:
            scores[tid] = [float(r.score) for r in group]  # type: ignore[arg-type]
    return results, (scores if complete and scores else None)


def curves(rollouts: list[Rollout], trials: int = 100, seed: int = 0) -> list[dict[str, Any]]:
    """pass@k (paper procedure and unbiased) and best@k for k = 1..K, K = fewest samples of a task."""
    results, scores = samples_per_task(rollouts)
    if not results:
        return []
    k_max = min(len(v) for v in results.values())
    rows = []
    for k in range(1, k_max + 1):
        p_mean, p_std = metrics.pass_at_k_paper(results, k, trials=trials, seed=seed)
        row: dict[str, Any] = {
            "k": k, "pass_at_k": p_mean, "pass_at_k_std": p_std,
            "pass_at_k_unbiased": metrics.pass_at_k_unbiased_mean(results, k),
            "best_at_k": None, "best_at_k_std": None,
        }
        if scores is not None:
            row["best_at_k"], row["best_at_k_std"] = metrics.best_at_k(results, scores, k, trials=trials, seed=seed)
        rows.append(row)
    return rows


def verifier_quality(rollouts: list[Rollout], bins: int = 10) -> dict[str, Any] | None:
    scored = [r for r in rollouts if r.graded and r.score is not None]
    if not scored:
        return None
    scores = [float(r.score) for r in scored]  # type: ignore[arg-type]
    labels = [r.resolved for r in scored]
    both = any(labels) and not all(labels)
    return {
        "verifier": sorted({r.verifier or "?" for r in scored}),
        "scored": len(scored),
        "auc": metrics.auc(scores, labels) if both else None,
        "ece": metrics.expected_calibration_error(scores, labels, bins),
        "calibration": metrics.calibration_bins(scores, labels, bins),
    }


def usage_totals(rollouts: list[Rollout]) -> dict[str, Any]:
    prompt = sum(int(r.usage.get("prompt_tokens") or 0) for r in rollouts)
    completion = sum(int(r.usage.get("completion_tokens") or 0) for r in rollouts)
    costs = [r.usage.get("cost") for r in rollouts if isinstance(r.usage.get("cost"), (int, float))]
    return {
        "rollouts": len(rollouts), "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": sum(costs) if costs else None, "cost_known_for": len(costs),
    }


def summarize(rollouts: list[Rollout], trials: int = 100, seed: int = 0) -> dict[str, Any]:
    """Everything ``summary.json`` holds, computed from the rollouts of one or more runs."""
    runs = sorted({r.run for r in rollouts}, key=lambda name: [r.run for r in rollouts].index(name))
    per_run = {}
    for name in runs:
        mine = [r for r in rollouts if r.run == name]
        per_run[name] = {
            "resolve_rate": _rate_table(mine, lambda r: name)[0],
            "curves": curves(mine, trials=trials, seed=seed),
            "verifier": verifier_quality(mine),
            "usage": usage_totals(mine),
        }
    statuses: dict[str, int] = defaultdict(int)
    for r in rollouts:
        statuses[r.status] += 1
    return {
        "rollouts": len(rollouts),
        "tasks": len({r.traj.instance_id for r in rollouts}),
        "statuses": dict(sorted(statuses.items())),
        "trials": trials,
        "seed": seed,
        "by_scaffold": _rate_table(rollouts, lambda r: r.traj.scaffold),
        "by_model": _rate_table(rollouts, lambda r: r.traj.model),
        "by_repo": _rate_table(rollouts, lambda r: r.repo),
        "runs": per_run,
        "usage": usage_totals(rollouts),
    }


__all__ = ["curves", "samples_per_task", "summarize", "usage_totals", "verifier_quality"]
