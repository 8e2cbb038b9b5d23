"""SWE-bench predictions from a run: ``{instance_id, model_name_or_path, model_patch}`` per line.

Why: a run directory should go straight into sb-cli or ``swebench.harness.run_evaluation``, which
take one patch per instance. With k samples per task there are k such files, one per sample
index: ``preds.jsonl`` holds sample 0 (the greedy one when ``--first-greedy``), ``preds.<i>.jsonl``
sample i. ``swegym run`` writes them as rollouts finish (rebuilt from ``trajectories.jsonl`` when
it starts, so a resumed run never repeats a row); ``swegym export predictions`` writes them after
the fact, for one sample or the verifier's best of the k (``--best-of``, from ``scores.jsonl``).

Every rollout row is exported, infrastructure errors included (as whatever patch they reached,
usually empty): SWE-bench counts an instance without a patch against the model, so leaving it
out would only make the file look complete when it is not.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable

from ..errors import SwegymError
from ..files import atomic_output

PREDS_FILE = "preds.jsonl"


def preds_path(run_dir: str | Path, sample_index: int = 0) -> Path:
    """``R/preds.jsonl`` for sample 0, ``R/preds.<i>.jsonl`` for sample i."""
    name = PREDS_FILE if sample_index == 0 else f"preds.{sample_index}.jsonl"
    return Path(run_dir) / name


def prediction(instance_id: str, patch: str | None, model: str) -> dict[str, str]:
    return {"instance_id": instance_id, "model_name_or_path": model, "model_patch": patch or ""}


def model_label(config: dict[str, Any] | None) -> str:
    """``model_name_or_path`` for a run: the ``--model`` it was given, else the policy's name."""
    config = config or {}
    options = config.get("policy_options") or {}
    model = options.get("model") or config.get("policy") or "swegym"
    return str(model)


def _line(row: dict[str, str]) -> str:
    # ASCII escapes, as json.dumps does for SWE-bench: a patch holding undecodable bytes (lone
    # surrogates) still makes a valid UTF-8 file.
    return json.dumps(row) + "\n"


def _key(row: dict[str, Any]) -> tuple[str, int]:
    from ..orchestration.rundir import row_key

    return row_key(row)


class PredictionsWriter:
    """Keeps ``preds[.i].jsonl`` of a run directory in step with its rollouts (thread-safe)."""

    def __init__(self, run_dir: str | Path, model: str) -> None:
        self.run_dir = Path(run_dir)
        self.model = model
        self._lock = threading.Lock()

    def rebuild(self, rows: Iterable[dict[str, Any]]) -> int:
        """Rewrite every sample's file from the rollout rows there are (one line per instance)."""
        by_sample: dict[int, dict[str, dict[str, str]]] = {}
        for row in rows:
            iid, k = _key(row)
            by_sample.setdefault(k, {})[iid] = prediction(iid, row.get("patch"), self.model)
        with self._lock:
            for old in self.run_dir.glob("preds*.jsonl"):
                if _sample_of(old) is not None and _sample_of(old) not in by_sample:
                    old.unlink()
            for k, preds in by_sample.items():
                with atomic_output(preds_path(self.run_dir, k), fsync=True) as fh:
                    fh.writelines(_line(p) for p in preds.values())
        return sum(len(p) for p in by_sample.values())

    def add(self, row: dict[str, Any]) -> None:
        """Append the prediction of one finished rollout to its sample's file."""
        iid, k = _key(row)
        with self._lock, preds_path(self.run_dir, k).open("a", encoding="utf-8") as fh:
            fh.write(_line(prediction(iid, row.get("patch"), self.model)))
            fh.flush()
            os.fsync(fh.fileno())


def _sample_of(path: Path) -> int | None:
    if path.name == PREDS_FILE:
        return 0
    middle = path.name[len("preds."):-len(".jsonl")]
    return int(middle) if path.name.startswith("preds.") and middle.isdigit() else None


def export_predictions(run_dir: str | Path, output: str | Path | None = None, *, sample: int | None = None,
                       best_of: bool = False, model: str | None = None,
                       scores: str | Path | None = None) -> list[tuple[Path, int]]:
    """Write predictions of a finished run; return ``(file, rows)`` per file written.

    No ``sample`` and no ``best_of``: every sample's file into the run directory (``output`` then
    names sample 0's file). ``sample=i``: that sample only. ``best_of``: per instance the rollout
    the verifier scored highest (ties: the lowest sample index), from ``scores.jsonl``.
    """
    from ..orchestration.rundir import RunDir
    from ..report.runs import load_run

    run = Path(run_dir)
    if not (run / "trajectories.jsonl").is_file():
        raise SwegymError(f"{run} is not a run directory (no trajectories.jsonl); pass the --run-dir of `swegym run`")
    manifest = RunDir(run).read_manifest() or {}
    label = model or model_label(manifest.get("config"))
    rows = list(RunDir(run).rows())
    if best_of:
        rollouts = load_run(run, scores_path=scores)
        if not any(r.score is not None for r in rollouts):
            raise SwegymError(f"--best-of needs verifier scores: run `swegym score --run-dir {run}` first")
        best: dict[str, Any] = {}
        for r in rollouts:
            if r.score is None:
                continue
            cur = best.get(r.traj.instance_id)
            if cur is None or (r.score, -r.sample_index) > (cur.score, -cur.sample_index):
                best[r.traj.instance_id] = r
        target = Path(output) if output else run / "preds.best.jsonl"
        with atomic_output(target) as fh:
            fh.writelines(_line(prediction(iid, r.traj.patch, label)) for iid, r in best.items())
        return [(target, len(best))]
    samples = sorted({_key(r)[1] for r in rows})
    if sample is not None:
        if sample not in samples:
            raise SwegymError(f"--sample {sample}: the run has sample indices {samples}")
        samples = [sample]
    written = []
    for k in samples:
        target = Path(output) if output and (sample is not None or k == 0) else preds_path(run, k)
        preds = {_key(r)[0]: prediction(_key(r)[0], r.get("patch"), label) for r in rows if _key(r)[1] == k}
        with atomic_output(target) as fh:
            fh.writelines(_line(p) for p in preds.values())
        written.append((target, len(preds)))
    return written


__all__ = ["PREDS_FILE", "PredictionsWriter", "export_predictions", "model_label", "prediction", "preds_path"]
