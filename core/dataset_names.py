"""Short names for the well-known task sets, as ``-d`` accepts them (``-d lite``).

Kept apart from :mod:`swegym.tasks` so the table is one obvious place to read and extend. A file
or folder of the same name in the working directory wins over an alias.
"""
from __future__ import annotations

from pathlib import Path

DATASET_ALIASES: dict[str, str] = {
    "lite": "princeton-nlp/SWE-bench_Lite",
    "verified": "princeton-nlp/SWE-bench_Verified",
    "full": "princeton-nlp/SWE-bench",
    "gym": "SWE-Gym/SWE-Gym",
    "gym-lite": "SWE-Gym/SWE-Gym-Lite",
}


def resolve_dataset_name(dataset: str) -> str:
    """``lite`` → ``princeton-nlp/SWE-bench_Lite`` etc. (case-insensitive); anything else unchanged."""
    alias = DATASET_ALIASES.get(dataset.strip().lower())
    if alias is None or Path(dataset).expanduser().exists():
        return dataset
    return alias


__all__ = ["DATASET_ALIASES", "resolve_dataset_name"]
