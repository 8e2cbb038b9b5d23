"""pass@k, best@k, AUC and ECE against values computed by hand."""
from __future__ import annotations

import json
import math

import pytest

from swegym import SwegymError
from swegym.metrics import (
    auc,
    best_at_k,
    calibration_bins,
    expected_calibration_error,
    pass_at_k_paper,
    pass_at_k_unbiased,
    pass_at_k_unbiased_mean,
    random_subsets,
    select_best,
)

T, F = True, False


def test_metrics_module_is_pure_python():
    import swegym.metrics as m

    source = open(m.__file__).read()
    assert "import numpy" not in source and "import torch" not in source


@pytest.mark.parametrize(
    "n,c,k,expected",
    [
        (10, 6, 1, 0.6),
        (10, 6, 2, 1 - 6 / 45),  # 1 - C(4,2)/C(10,2)
        (10, 6, 5, 1.0),  # fewer than 5 failures: every 5-subset holds a success
        (5, 0, 3, 0.0),
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    ],
)
def test_pass_at_k_unbiased_hand_values(n, c, k, expected):
    assert pass_at_k_unbiased(n, c, k) == pytest.approx(expected)


def test_pass_at_k_unbiased_mean_over_tasks():
    results = {"a": [T, F, F, F], "b": [F, F, F, F]}
    assert pass_at_k_unbiased_mean(results, 2) == pytest.approx((0.5 + 0.0) / 2)


@pytest.mark.parametrize("n,c,k", [(3, 4, 1), (3, 1, 0), (3, 1, 4)])
def test_pass_at_k_unbiased_rejects_bad_arguments(n, c, k):
    with pytest.raises(SwegymError):
        pass_at_k_unbiased(n, c, k)


RESULTS = {"A": [T, F, F], "B": [F, T, T], "C": [F, F, F]}
SCORES = {"A": [0.2, 0.9, 0.1], "B": [0.5, 0.5, 0.4], "C": [0.3, 0.2, 0.1]}


def test_pass_at_k_paper_deterministic_cases():
    # k=1 with the first run fixed: always sample 0 -> only A resolves.
    assert pass_at_k_paper(RESULTS, 1) == (pytest.approx(1 / 3), 0.0)
    # k=n: the whole set every trial -> A and B.
    assert pass_at_k_paper(RESULTS, 3) == (pytest.approx(2 / 3), 0.0)
    # k=2, first fixed: A has sample 0, B has a success at both 1 and 2 -> always 2/3.
    assert pass_at_k_paper(RESULTS, 2) == (pytest.approx(2 / 3), 0.0)


def test_pass_at_k_paper_random_subsets_mean_and_std():
    # D succeeds only at sample 1; with k=2 and sample 0 fixed the subset is {0,1} or {0,2}.
    results = {"D": [F, T, F]}
    mean, std = pass_at_k_paper(results, 2, trials=4000, seed=1)
    assert mean == pytest.approx(0.5, abs=0.03)
    assert std == pytest.approx(math.sqrt(mean * (1 - mean)), abs=1e-9)  # Bernoulli trials
    # Without the first run fixed: {0,1},{0,2},{1,2} -> 2/3.
    mean_free, _ = pass_at_k_paper(results, 2, trials=4000, seed=1, first_fixed=False)
    assert mean_free == pytest.approx(2 / 3, abs=0.03)
    # Same seed, same answer.
    assert pass_at_k_paper(results, 2, trials=50, seed=7) == pass_at_k_paper(results, 2, trials=50, seed=7)


def test_subsets_keep_the_first_run():
    import random

    subsets = list(random_subsets(6, 3, 50, random.Random(0)))
    assert len(subsets) == 50
    assert all(s[0] == 0 and len(set(s)) == 3 and max(s) < 6 for s in subsets)


def test_best_at_k_hand_values_and_ties():
    # k=3: A picks sample 1 (0.9, unresolved); B ties 0.5/0.5 -> earliest, sample 0 (unresolved);
    # C has nothing to find -> 0/3.
    assert best_at_k(RESULTS, SCORES, 3) == (0.0, 0.0)
    # k=1: sample 0 everywhere -> A only.
    assert best_at_k(RESULTS, SCORES, 1) == (pytest.approx(1 / 3), 0.0)
    # A perfect verifier reaches pass@k.
    oracle = {tid: [float(x) for x in r] for tid, r in RESULTS.items()}
    assert best_at_k(RESULTS, oracle, 3) == pass_at_k_paper(RESULTS, 3)
    assert select_best([0, 1, 2], [0.5, 0.5, 0.4]) == 0
    assert select_best([1, 2], [0.9, 0.3, 0.3]) == 1


def test_best_at_k_never_exceeds_pass_at_k_per_seed():
    results = {"X": [F, T, F, T, F], "Y": [T, F, F, F, T], "Z": [F, F, T, F, F]}
    scores = {"X": [0.1, 0.2, 0.9, 0.3, 0.5], "Y": [0.4, 0.8, 0.2, 0.1, 0.6], "Z": [0.3, 0.1, 0.2, 0.5, 0.4]}
    for k in range(1, 6):
        assert best_at_k(results, scores, k, seed=3)[0] <= pass_at_k_paper(results, k, seed=3)[0] + 1e-12


def test_best_at_k_needs_a_score_per_rollout():
    with pytest.raises(SwegymError, match="3 rollouts but 2 scores"):
        best_at_k({"A": [T, F, F]}, {"A": [0.1, 0.2]}, 2)
    with pytest.raises(SwegymError, match="fewer rollouts"):
        pass_at_k_paper({"A": [T, F]}, 3)


def test_auc_hand_values():
    assert auc([0.1, 0.4, 0.35, 0.8], [F, F, T, T]) == pytest.approx(0.75)
    assert auc([0.5, 0.5], [T, F]) == pytest.approx(0.5)
    assert auc([0.9, 0.8, 0.1], [T, T, F]) == 1.0
    assert auc([0.1, 0.8, 0.9], [T, F, F]) == 0.0
    with pytest.raises(SwegymError, match="at least one resolved and one unresolved"):
        auc([0.1, 0.2], [T, T])


def test_ece_hand_values():
    scores, labels = [0.1, 0.15, 0.9, 0.95], [F, T, T, T]
    # bin 1: conf .125, acc .5 -> .375 * 2/4; bin 9: conf .925, acc 1 -> .075 * 2/4.
    assert expected_calibration_error(scores, labels) == pytest.approx(0.1875 + 0.0375)
    assert expected_calibration_error([1.0, 0.0], [T, F]) == 0.0  # 1.0 falls in the last bin
    bins = calibration_bins(scores, labels)
    assert [b["count"] for b in bins] == [2, 2]
    with pytest.raises(SwegymError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [T])


def test_paper_procedure_on_real_swegym_rollouts(shared_data):
    rows = [json.loads(line) for line in (shared_data / "openhands-trajectories-mixed.jsonl").open()]
    results = {"python__mypy-10308": [bool(r["resolved"]) for r in rows]}
    assert sum(results["python__mypy-10308"]) == 6 and len(rows) == 10
    # Row 0 (the fixed first run) is resolved, so pass@1 is exactly 1 with zero spread.
    assert pass_at_k_paper(results, 1) == (1.0, 0.0)
    assert pass_at_k_unbiased_mean(results, 1) == pytest.approx(0.6)
    assert pass_at_k_unbiased_mean(results, 5) == 1.0
