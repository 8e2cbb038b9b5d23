"""Where exported trajectories come from: run directories and JSONL files, auto-detected.

A run directory is any folder with a ``trajectories.jsonl`` (rows of ``Trajectory.to_dict()``);
a ``.jsonl`` file may hold either those rows or SWE-Gym's released trajectory rows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from ..errors import DataError, SwegymError
from ..formats.swegym_rows import is_swegym_row, row_to_trajectory
from ..jsonl import iter_jsonl
from ..orchestration.record import upgrade_row
from ..types import Trajectory

RUN_FILE = "trajectories.jsonl"


def resolve_sources(sources: Iterable[str | Path]) -> list[Path]:
    """Each source → the JSONL file to read; a clear error for anything else."""
    files = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            if not (path / RUN_FILE).is_file():
                raise SwegymError(f"{path} is a folder without {RUN_FILE}; pass a run directory or a .jsonl file")
            files.append(path / RUN_FILE)
        elif path.is_file():
            files.append(path)
        else:
            raise SwegymError(f"{path} does not exist; pass a run directory (with {RUN_FILE}) or a .jsonl file")
    if not files:
        raise SwegymError("no input given; pass --run-dir DIR or a .jsonl file at least once")
    return files


def read_trajectories(sources: Iterable[str | Path]) -> Iterator[Trajectory]:
    """Stream trajectories from every source in order (released rows and swegym rows both accepted)."""
    for path in resolve_sources(sources):
        for lineno, row in iter_jsonl(path):
            if is_swegym_row(row):
                yield row_to_trajectory(row, source=str(path), index=lineno)
                continue
            if not isinstance(row, dict) or "instance_id" not in row:
                raise DataError("not a trajectory row (needs at least 'instance_id' and 'messages')", path=str(path), row=lineno)
            try:
                traj = Trajectory.from_dict(upgrade_row(row))
            except TypeError as exc:
                raise DataError(f"not a trajectory row ({exc})", path=str(path), row=lineno) from None
            if traj.evaluation is None and row.get("status"):
                traj.evaluation = {"status": row["status"], "resolved": row.get("resolved")}
            elif traj.evaluation is None and row.get("resolved") is not None:
                traj.evaluation = {"status": "resolved" if row["resolved"] else "unresolved", "resolved": row["resolved"]}
            yield traj

