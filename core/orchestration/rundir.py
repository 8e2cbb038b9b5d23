"""The run directory: append-only ``trajectories.jsonl``, ``manifest.json``, logs, ``report.json``.

Rows are written whole and flushed (fsync), so a crash or ``kill -9`` loses at most the row being
written; a torn last line is cut off when the run resumes. Identity of a row is
(instance_id, sample_index): resuming skips every key already present.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterator

from ..errors import DataError
from ..files import write_json_atomic
from ..jsonl import dumps_line, iter_jsonl, read_json
from .record import rollout_part, upgrade_row

TRAJECTORIES = "trajectories.jsonl"
MANIFEST = "manifest.json"
LOCK = ".lock"


def row_key(row: dict[str, Any]) -> tuple[str, int]:
    """(instance_id, sample_index) of a row of any version."""
    return row["instance_id"], int(rollout_part(row.get("metadata") or {}).get("sample_index", 0))


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
        from ..harness.ledger import safe_name

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
            yield upgrade_row(row)

    def done_keys(self) -> set[tuple[str, int]]:
        return {row_key(r) for r in self.rows()}

    def append(self, row: dict[str, Any]) -> None:
        line = dumps_line(row)
        with self._lock, self.trajectories_path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    # -- manifest ----------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        path = self.path / MANIFEST
        if not path.exists():
            return None
        data = read_json(path, hint="; delete it (or the run directory) to start the run over")
        if not isinstance(data, dict):
            raise DataError("not a swegym manifest (expected a JSON object); delete it to start over", path=str(path))
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.path / MANIFEST, manifest, fsync=True)

    # -- single writer -----------------------------------------------------------------------
    def acquire(self) -> None:
        """Refuse to run twice on one directory at once.

        ``fcntl.flock`` on ``.lock`` is atomic (two drivers started at the same instant cannot
        both get it) and the kernel drops it when the process dies, even by ``kill -9``, so a
        stale lock never blocks a resume. The file stays (unlinking it would let a third
        process lock a new inode while the second still holds the old one); it holds the pid.
        """
        import fcntl

        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            finally:
                os.close(fd)
            raise DataError(f"another swegym process (pid {pid}) is writing this run directory; "
                            f"wait for it or stop it", path=str(self.path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def release(self) -> None:
        fd, self._lock_fd = getattr(self, "_lock_fd", None), None
        if fd is not None:
            os.close(fd)  # closing drops the flock
