"""The run directory: append-only ``trajectories.jsonl``, ``manifest.json``, logs, ``report.json``.

Rows are written whole and flushed (fsync), so a crash or ``kill -9`` loses at most the row being
written; a torn last line is cut off when the run resumes. Identity of a row is
(instance_id, sample_index): resuming skips every key already present.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from ..errors import DataError
from ..files import write_json_atomic
from ..jsonl import iter_jsonl

TRAJECTORIES = "trajectories.jsonl"
MANIFEST = "manifest.json"
LOCK = ".lock"


def row_key(row: dict[str, Any]) -> tuple[str, int]:
    return row["instance_id"], int((row.get("metadata") or {}).get("sample_index", 0))


class RunDir:
    """One run's folder; the driver is its only writer."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @property
    def trajectories_path(self) -> Path:
        return self.path / TRAJECTORIES

    def rollout_log(self, instance_id: str, sample_index: int) -> Path:
        from ..harness.report import safe_name

        folder = self.path / "rollouts"
        folder.mkdir(exist_ok=True)
        return folder / f"{safe_name(instance_id)}.{sample_index}.log"

    # -- trajectories ----------------------------------------------------------------------
    def repair(self) -> int:
        """Cut a torn last line (the row a killed process was writing); return bytes removed."""
        path = self.trajectories_path
        if not path.exists() or path.stat().st_size == 0:
            return 0
        with path.open("rb+") as fh:
            data = fh.read()
            if data.endswith(b"\n"):
                return 0
            keep = data.rfind(b"\n") + 1
            fh.truncate(keep)
            return len(data) - keep

    def rows(self) -> Iterator[dict[str, Any]]:
        path = self.trajectories_path
        if not path.exists():
            return
        for _, row in iter_jsonl(path):
            yield row

    def done_keys(self) -> set[tuple[str, int]]:
        return {row_key(r) for r in self.rows()}

    def append(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock, self.trajectories_path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    # -- manifest ----------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        path = self.path / MANIFEST
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.path / MANIFEST, manifest, fsync=True)

    # -- single writer -----------------------------------------------------------------------
    def acquire(self) -> None:
        """Refuse to run twice on one directory at once (a live pid holds the lock)."""
        lock = self.path / LOCK
        if lock.exists():
            try:
                pid = int(lock.read_text().strip() or 0)
            except ValueError:
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise DataError(f"another swegym process (pid {pid}) is writing this run directory; "
                                f"wait for it or stop it", path=str(self.path))
        lock.write_text(str(os.getpid()))

    def release(self) -> None:
        try:
            (self.path / LOCK).unlink()
        except FileNotFoundError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
