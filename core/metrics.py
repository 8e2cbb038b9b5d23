"""pass@k, best@k, verifier AUC and calibration error, in pure Python.

Two pass@k flavours exist because they answer different questions: the unbiased estimator
(Chen et al. 2021) gives the expected pass@k of a random k-subset exactly, while the SWE-Gym
paper's procedure draws ``trials`` random subsets of size k (the first, usually greedy, run
always included) and reports mean and standard deviation over those draws. best@k uses the very
same subsets, so best@k <= pass@k holds trial by trial.

``results_per_task`` maps a task id to its rollouts' outcomes in sample order (index 0 is the
"first run"); ``scores_per_task`` maps the same ids to verifier scores in the same order.
"""
from __future__ import annotations

import math
import random
import statistics
from typing import Iterator, Mapping, Sequence

from .errors import SwegymError

Results = Mapping[str, Sequence[bool]]
Scores = Mapping[str, Sequence[float]]


def pass_at_k_unbiased(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): the chance that a random k-subset of n samples holds a success."""
    if not (0 <= c <= n):
        raise SwegymError(f"pass@k: need 0 <= c <= n, got n={n}, c={c}")
    if not (1 <= k <= n):
        raise SwegymError(f"pass@k: need 1 <= k <= n, got n={n}, k={k}; sample at least k rollouts per task")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_at_k_unbiased_mean(results_per_task: Results, k: int) -> float:
    """The unbiased estimator averaged over tasks."""
    _check_results(results_per_task, k)
    values = [pass_at_k_unbiased(len(r), sum(bool(x) for x in r), k) for r in results_per_task.values()]
    return sum(values) / len(values)


def _check_results(results_per_task: Results, k: int) -> None:
    if not results_per_task:
        raise SwegymError("pass@k/best@k: no tasks given")
    if k < 1:
        raise SwegymError(f"pass@k/best@k: k must be >= 1, got {k}")
    short = [tid for tid, r in results_per_task.items() if len(r) < k]
    if short:
        raise SwegymError(
            f"pass@k/best@k: k={k} but {len(short)} task(s) have fewer rollouts (e.g. {short[0]!r} has "
            f"{len(results_per_task[short[0]])}); use k <= the smallest number of samples per task"
        )


def random_subsets(n: int, k: int, trials: int, rng: random.Random, first_fixed: bool = True) -> Iterator[list[int]]:
    """``trials`` sorted index subsets of size k out of range(n); index 0 in each when ``first_fixed``."""
    for _ in range(trials):
        if first_fixed:
            rest = rng.sample(range(1, n), k - 1) if k > 1 else []
            yield [0] + sorted(rest)
        else:
            yield sorted(rng.sample(range(n), k))


def _subset_procedure(results_per_task: Results, k: int, trials: int, seed: int, first_fixed: bool,
                      scores_per_task: Scores | None) -> tuple[float, float]:
    """Mean and population std over trials of the per-trial resolve rate (pass or best selection)."""
    _check_results(results_per_task, k)
    if trials < 1:
        raise SwegymError(f"pass@k/best@k: trials must be >= 1, got {trials}")
    if scores_per_task is not None:
        for tid, r in results_per_task.items():
            if tid not in scores_per_task or len(scores_per_task[tid]) != len(r):
                got = len(scores_per_task[tid]) if tid in scores_per_task else "no"
                raise SwegymError(f"best@k: task {tid!r} has {len(r)} rollouts but {got} scores; score every rollout")
    rng = random.Random(seed)
    tasks = sorted(results_per_task)
    # One subset stream per task, drawn in a fixed task order so results do not depend on dict order.
    subsets = {tid: list(random_subsets(len(results_per_task[tid]), k, trials, rng, first_fixed)) for tid in tasks}
    rates = []
    for t in range(trials):
        solved = 0
        for tid in tasks:
            outcome = results_per_task[tid]
            subset = subsets[tid][t]
            if scores_per_task is None:
                solved += any(bool(outcome[i]) for i in subset)
            else:
                solved += bool(outcome[select_best(subset, scores_per_task[tid])])
        rates.append(solved / len(tasks))
    return statistics.fmean(rates), statistics.pstdev(rates)


def select_best(indices: Sequence[int], scores: Sequence[float]) -> int:
    """The index with the highest score; ties go to the earliest sample (deterministic)."""
    best = indices[0]
    for i in indices[1:]:
        if scores[i] > scores[best]:
            best = i
    return best


def pass_at_k_paper(results_per_task: Results, k: int, trials: int = 100, seed: int = 0,
                    first_fixed: bool = True) -> tuple[float, float]:
    """SWE-Gym's pass@k: ``trials`` random k-subsets per task; returns (mean, std) resolve rate."""
    return _subset_procedure(results_per_task, k, trials, seed, first_fixed, None)


def best_at_k(results_per_task: Results, scores_per_task: Scores, k: int, trials: int = 100, seed: int = 0,
              first_fixed: bool = True) -> tuple[float, float]:
    """best@k: in each subset keep the highest-scoring rollout; (mean, std) of its resolve rate."""
    return _subset_procedure(results_per_task, k, trials, seed, first_fixed, scores_per_task)


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """ROC AUC = P(score of a random positive > score of a random negative), ties count 1/2."""
    if len(scores) != len(labels):
        raise SwegymError(f"auc: {len(scores)} scores but {len(labels)} labels")
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        raise SwegymError("auc: needs at least one resolved and one unresolved rollout")
    # Rank-sum (Mann-Whitney U) with average ranks for ties: O(n log n).
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    u = rank_sum - len(pos) * (len(pos) + 1) / 2
    return u / (len(pos) * len(neg))


def calibration_bins(scores: Sequence[float], labels: Sequence[bool], bins: int = 10) -> list[dict[str, float]]:
    """Equal-width bins over [0, 1]: count, mean score and observed resolve rate per non-empty bin."""
    if len(scores) != len(labels):
        raise SwegymError(f"calibration: {len(scores)} scores but {len(labels)} labels")
    if bins < 1:
        raise SwegymError(f"calibration: bins must be >= 1, got {bins}")
    groups: dict[int, list[tuple[float, bool]]] = {}
    for s, y in zip(scores, labels):
        if not 0.0 <= s <= 1.0:
            raise SwegymError(f"calibration: scores must lie in [0, 1], got {s}")
        groups.setdefault(min(int(s * bins), bins - 1), []).append((s, bool(y)))
    out = []
    for b in sorted(groups):
        items = groups[b]
        out.append({
            "bin": b, "lo": b / bins, "hi": (b + 1) / bins, "count": len(items),
            "confidence": statistics.fmean(s for s, _ in items),
            "accuracy": statistics.fmean(float(y) for _, y in items),
        })
    return out


def expected_calibration_error(scores: Sequence[float], labels: Sequence[bool], bins: int = 10) -> float:
    """ECE: sum over bins of |resolve rate - mean score| weighted by the bin's share of rollouts."""
    if not scores:
        raise SwegymError("calibration: no scores given")
    total = len(scores)
    return sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in calibration_bins(scores, labels, bins))
