"""``report.json`` and per-instance logs of an evaluation run, written so a crash loses nothing.

Layout of a run directory::

    R/report.json                          {"summary": {...}, "instances": {ID: {...}}}
    R/logs/<instance_id>/test_output.txt   the full evaluation log
    R/logs/<instance_id>/patch.diff        the patch that was graded

``report.json`` is rewritten atomically (temp file + rename), so a re-run can resume from it.
Logs and patches are written as each instance finishes; the report itself is rewritten whole, so
rewriting it after every instance would grow quadratically with the run (20,000 rollouts with
per-test results are tens of MB). A rewrite therefore waits until :data:`REWRITE_BACKOFF` times
its previous duration has passed (small reports: every instance; large ones: at most ~5 % of the
run's time), and ``flush()`` writes the rest. Both ``swegym eval`` and ``swegym run`` write through
:class:`ReportWriter`; a crash between rewrites costs re-running those instances (``eval``) or
nothing (``run`` rebuilds the entries from ``trajectories.jsonl``).
"""
from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..files import write_text_atomic, write_text_safe
from ..jsonl import read_json
from ..types import EVAL_STATUSES, EvalResult

REPORT_FILE = "report.json"
LOGS_DIR = "logs"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
#: A rewrite of report.json waits this many times the previous rewrite's duration.
REWRITE_BACKOFF = 20


def safe_name(instance_id: str) -> str:
    """A file-system safe folder name for an instance id (ids may hold '/'; long ones are hashed)."""
    name = _UNSAFE.sub("_", instance_id) or "_"
    if name in (".", ".."):
        name = name.replace(".", "_")
    if len(name) > 120:  # file names stop at 255 bytes; keep room for suffixes
        import hashlib

        digest = hashlib.sha256(instance_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        name = f"{name[:100]}-{digest}"
    return name


def summarize(instances: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Counts per status, plus ``total``."""
    summary = {"total": len(instances)}
    summary.update({status: 0 for status in EVAL_STATUSES})
    for row in instances.values():
        status = row.get("status")
        if status in summary:
            summary[status] += 1
    return summary


def load_report(path: str | Path) -> dict[str, Any]:
    """Read ``report.json`` (a run directory or the file); a missing report is an empty one."""
    path = Path(path)
    if path.is_dir() or path.suffix != ".json":
        path = path / REPORT_FILE
    if not path.exists():
        return {"summary": summarize({}), "instances": {}}
    data = read_json(path, hint="; delete it to start the run over")
    if not isinstance(data, dict) or not isinstance(data.get("instances"), dict):
        raise DataError("not a swegym report (expected {'summary': ..., 'instances': {...}})", path=str(path))
    return data


def instance_row(result: EvalResult) -> dict[str, Any]:
    """What report.json keeps per instance (the log lives in its own file)."""
    row = {"status": result.status, "resolved": result.resolved, "tests": dict(result.tests)}
    if result.error:
        row["error"] = result.error
    if result.test_duration_s is not None:
        row["test_duration_s"] = round(result.test_duration_s, 3)
    if result.duration_s is not None:
        row["duration_s"] = round(result.duration_s, 3)
    if result.details:
        row["details"] = result.details
    return row


class ReportWriter:
    """Adds instance results to a run directory's report; thread-safe, resumable.

    ``finished`` lists instances that need no re-run: everything except infrastructure
    ``error`` results, which a re-run tries again.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._data = load_report(self.run_dir)
        self._dirty = False
        self._next_write = 0.0  # monotonic time from which add() may rewrite report.json

    @property
    def path(self) -> Path:
        return self.run_dir / REPORT_FILE

    @property
    def instances(self) -> dict[str, dict[str, Any]]:
        return self._data["instances"]

    def finished(self) -> set[str]:
        return {iid for iid, row in self.instances.items() if row.get("status") not in (None, "error")}

    def log_dir(self, instance_id: str) -> Path:
        return self.run_dir / LOGS_DIR / safe_name(instance_id)

    def add(self, instance_id: str, result: EvalResult, patch: str | None = None) -> None:
        """Record ``result``: log and patch to files now, the row to report.json (see the module doc)."""
        folder = self.log_dir(instance_id)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_safe(folder / "test_output.txt", result.log or "")
        if patch is not None:
            write_text_safe(folder / "patch.diff", patch)
        with self._lock:
            self.instances[instance_id] = instance_row(result)
            self._dirty = True
            if time.monotonic() >= self._next_write:
                self._write()

    def flush(self) -> None:
        """Write report.json if anything was added since the last rewrite."""
        with self._lock:
            if self._dirty:
                self._write()

    def _write(self) -> None:
        start = time.monotonic()
        self._data["summary"] = summarize(self.instances)
        write_text_atomic(self.path, json.dumps(self._data, indent=2, sort_keys=False) + "\n", fsync=True)
        self._dirty = False
        took = time.monotonic() - start
        self._next_write = start + took * (1 + REWRITE_BACKOFF)

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.instances)


__all__ = ["REPORT_FILE", "LOGS_DIR", "ReportWriter", "load_report", "summarize", "instance_row", "safe_name"]
