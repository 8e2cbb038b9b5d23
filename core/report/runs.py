"""Reading runs for the report and the scorer: rollouts, their sample index and their scores.

A run is a run directory (``trajectories.jsonl`` + optional ``scores.jsonl``) or a ``.jsonl``
file (swegym rows or SWE-Gym's released rows). Rows are identified by their position in the
file, because real released rows may share instance_id and run_id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import DataError, SwegymError
from ..jsonl import iter_jsonl
from ..orchestration.record import rollout_part, scaffold_part
from ..types import Trajectory

SCORES_FILE = "scores.jsonl"
_SUMMARY_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(\S+)")


@dataclass
class Rollout:
    """One trajectory of a run plus what the report needs next to it."""

    run: str
    row: int
    sample_index: int
    traj: Trajectory
    score: float | None = None
    verifier: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.traj.status or "not_evaluated"

    @property
    def resolved(self) -> bool:
        return self.traj.status == "resolved"

    @property
    def graded(self) -> bool:
        """Counted in resolve rates: evaluated and not an infrastructure error."""
        return self.traj.status is not None and self.traj.status != "error"

    @property
    def repo(self) -> str:
        repo = rollout_part(self.traj.metadata).get("repo") or (self.traj.evaluation or {}).get("repo")
        if repo:
            return str(repo)
        # SWE-bench ids read owner__name-NUMBER.
        owner, sep, rest = self.traj.instance_id.partition("__")
        return f"{owner}/{rest.rsplit('-', 1)[0]}" if sep else "?"

    @property
    def usage(self) -> dict[str, Any]:
        usage = scaffold_part(self.traj.metadata).get("usage") or {}
        return usage if isinstance(usage, dict) else {}


def run_label(source: str | Path) -> str:
    path = Path(source)
    return path.name if path.is_dir() else path.stem


def default_scores_path(source: str | Path) -> Path:
    """Where ``swegym score`` writes and ``swegym report`` looks: ``R/scores.jsonl`` or ``FILE.scores.jsonl``."""
    path = Path(source)
    if path.is_dir():
        return path / SCORES_FILE
    return path.with_name(path.stem + ".scores.jsonl")


def load_run(source: str | Path, scores_path: str | Path | None = None) -> list[Rollout]:
    """All rollouts of one run, with sample indices filled and scores attached when present."""
    from ..export.inputs import read_trajectories  # shared reader: run dirs, swegym rows, released rows

    label = run_label(source)
    rollouts: list[Rollout] = []
    seen_per_instance: dict[str, int] = {}
    for row, traj in enumerate(read_trajectories([source])):
        declared = rollout_part(traj.metadata).get("sample_index")
        position = seen_per_instance.get(traj.instance_id, 0)
        seen_per_instance[traj.instance_id] = position + 1
        sample = int(declared) if isinstance(declared, (int, float)) and not isinstance(declared, bool) else position
        rollouts.append(Rollout(run=label, row=row, sample_index=sample, traj=traj))
    scores = Path(scores_path) if scores_path else default_scores_path(source)
    if scores.is_file():
        attach_scores(rollouts, read_scores(scores), str(scores))
    elif scores_path:
        raise SwegymError(f"scores file {scores} does not exist; run `swegym score` first or drop --scores")
    return rollouts


def unique_labels(sources: Iterable[str | Path]) -> list[str]:
    """One display name per run: its folder or file name, suffixed when two runs are named alike."""
    labels: list[str] = []
    for source in sources:
        label, n = run_label(source), 1
        while label in labels:
            n += 1
            label = f"{run_label(source)}-{n}"
        labels.append(label)
    return labels


def load_runs(sources: Iterable[str | Path], scores: Iterable[str | Path | None] | None = None) -> list[Rollout]:
    """Rollouts of several runs, in order; ``scores`` optionally names each run's scores file."""
    sources = list(sources)
    if not sources:
        raise SwegymError("no run given; pass at least one run directory or .jsonl file")
    score_paths = list(scores) if scores is not None else [None] * len(sources)
    if len(score_paths) != len(sources):
        raise SwegymError(f"{len(sources)} run(s) but {len(score_paths)} scores file(s); give one --scores per run or none")
    out: list[Rollout] = []
    for source, label, score_path in zip(sources, unique_labels(sources), score_paths):
        run = load_run(source, score_path)
        for r in run:
            r.run = label
        out.extend(run)
    return out


def read_scores(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, row in iter_jsonl(path):
        score = row.get("score") if isinstance(row, dict) else None
        if not isinstance(score, (int, float)) or not 0.0 <= float(score) <= 1.0:
            raise DataError(f"needs a number in [0, 1], got {score!r}; rerun `swegym score`", path=str(path),
                            row=lineno, field="score")
        rows.append(row)
    return rows


def attach_scores(rollouts: list[Rollout], rows: list[dict[str, Any]], path: str = "scores") -> None:
    """Match score rows to rollouts: by ``row`` position when given, else by (instance_id, sample_index)."""
    by_key = {(r.traj.instance_id, r.sample_index): r for r in rollouts}
    for lineno, row in enumerate(rows, 1):
        target = None
        if isinstance(row.get("row"), int) and 0 <= row["row"] < len(rollouts):
            target = rollouts[row["row"]]
            if target.traj.instance_id != row.get("instance_id", target.traj.instance_id):
                raise DataError(f"row {row['row']} is {target.traj.instance_id!r} in the run but "
                                f"{row.get('instance_id')!r} here; the scores belong to another run", path=path, row=lineno)
        else:
            target = by_key.get((row.get("instance_id"), row.get("sample_index")))
        if target is None:
            raise DataError(f"no rollout ({row.get('instance_id')!r}, sample {row.get('sample_index')!r}) in this run; "
                            "the scores belong to another run", path=path, row=lineno)
        target.score = float(row["score"])
        target.verifier = row.get("verifier")


def test_results(traj: Trajectory) -> dict[str, str]:
    """Per-test outcomes: the harness's ``tests`` map, or the pytest summary of a released log."""
    evaluation = traj.evaluation or {}
    tests = evaluation.get("tests")
    if isinstance(tests, dict) and tests:
        return {str(k): str(v) for k, v in tests.items()}
    test_result = evaluation.get("test_result")
    log = test_result.get("test_output") if isinstance(test_result, dict) else None
    out: dict[str, str] = {}
    if isinstance(log, str):
        for line in log.splitlines():
            match = _SUMMARY_LINE.match(line.strip())
            if match:
                status = {"PASSED": "PASSED", "FAILED": "FAILED", "ERROR": "ERROR"}.get(match.group(1), match.group(1))
                # A test that errors in teardown after passing still counts as failed.
                if out.get(match.group(2)) not in ("FAILED", "ERROR"):
                    out[match.group(2)] = status
    return out


__all__ = ["Rollout", "SCORES_FILE", "attach_scores", "default_scores_path", "load_run", "load_runs", "read_scores",
           "run_label", "test_results", "unique_labels"]
