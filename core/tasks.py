"""Loading SWE-Gym / SWE-bench tasks from files, folders, Hugging Face names or named sets (``demo``).

Hub names and dataset folders go through ``datasets`` (see :mod:`swegym.hub`).

Every row is validated; a malformed row raises :class:`DataError` naming file, row and field.
Nothing is dropped silently.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .errors import DataError
from .hub import looks_like_repo_id, rows_from_folder, rows_from_hub
from .jsonl import iter_jsonl, read_json
from .types import TASK_FIELDS, Task
from .validation import check_fields

REQUIRED = ("instance_id", "repo", "base_commit")
TEXT_FIELDS = ("problem_statement", "hints_text", "patch", "test_patch", "version", "created_at")
TEST_LIST_FIELDS = ("FAIL_TO_PASS", "PASS_TO_PASS")
KNOWN_HUB_DATASETS = (
    "SWE-Gym/SWE-Gym",
    "SWE-Gym/SWE-Gym-Lite",
    "princeton-nlp/SWE-bench",
    "princeton-nlp/SWE-bench_Lite",
    "princeton-nlp/SWE-bench_Verified",
    "SWE-bench/SWE-bench_Lite",
    "SWE-bench/SWE-bench_Verified",
)


def validate_row(raw: Any, *, path: str, row: int) -> Task:
    """Turn one raw row into a Task, or raise DataError saying exactly what is wrong."""
    if not isinstance(raw, dict):
        raise DataError(f"expected a JSON object, got {type(raw).__name__}", path=path, row=row)
    for name in REQUIRED:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            raise DataError(
                f"missing or empty (a non-empty string is required; got {value!r})", path=path, row=row, field=name
            )
    clean: dict[str, Any] = dict(raw)
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if value is None:
            clean[name] = ""
        elif not isinstance(value, str):
            if name == "version" and isinstance(value, (int, float)):
                clean[name] = str(value)
            else:
                raise DataError(f"must be a string, got {type(value).__name__}", path=path, row=row, field=name)
    for name in TEST_LIST_FIELDS:
        clean[name] = _test_list(raw.get(name), path=path, row=row, field=name)
    setup_commit = raw.get("environment_setup_commit")
    if setup_commit is not None and not isinstance(setup_commit, str):
        raise DataError("must be a string when present", path=path, row=row, field="environment_setup_commit")
    check_fields(clean, path=path, row_number=row)
    return Task.from_dict(clean)


def _test_list(value: Any, *, path: str, row: int, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = getattr(exc, "msg", "nested too deeply")
            raise DataError(f"is a string but not a JSON list of test names ({reason})", path=path, row=row,
                            field=field) from None
    if hasattr(value, "tolist"):  # numpy / pyarrow arrays from parquet
        value = value.tolist()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError("must be a list of test names (or a JSON string of one)", path=path, row=row, field=field)
    return list(value)


# -- raw row sources -------------------------------------------------------------------------


def _rows_from_file(path: Path) -> Iterator[tuple[int, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from iter_jsonl(path)
    elif suffix == ".json":
        data = read_json(path)
        if isinstance(data, dict):
            data = data.get("instances") or data.get("rows") or data.get("data") or [data]
        if not isinstance(data, list):
            raise DataError("a .json task file must hold a list of task objects", path=str(path))
        yield from enumerate(data, start=1)
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError("reading .parquet needs pyarrow: pip install 'swegym[parquet]'", path=str(path)) from None
        try:
            table = pq.read_table(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises its own error types for bad files
            raise DataError(f"not a readable parquet file ({type(exc).__name__}: {exc})", path=str(path)) from None
        yield from enumerate(table.to_pylist(), start=1)
    else:
        raise DataError("unsupported task file type; use .json, .jsonl or .parquet", path=str(path))


def _looks_like_hub_name(dataset: str) -> bool:
    return looks_like_repo_id(dataset)


def iter_raw_rows(dataset: str, split: str | None = None) -> tuple[str, Iterable[tuple[int, Any]]]:
    """Find the source of ``dataset`` and return (label for errors, numbered raw rows)."""
    from .dataset_names import resolve_dataset_name
    from .plugins import get_registry

    registry = get_registry()
    if ("dataset", dataset) not in registry.components:
        dataset = resolve_dataset_name(dataset)  # lite, verified, gym, gym-lite → their hub names
    if ("dataset", dataset) in registry.components:
        factory = registry.get("dataset", dataset).factory
        return f"dataset {dataset!r}", enumerate(factory(), start=1)
    path = Path(dataset).expanduser()
    if path.exists():
        if path.is_dir():  # save_to_disk output, or a folder of parquet/jsonl shards (a hub snapshot)
            return str(path), rows_from_folder(path, split)
        return str(path), _rows_from_file(path)
    if _looks_like_hub_name(dataset):
        return dataset, rows_from_hub(dataset, split)
    named = ", ".join(registry.names("dataset")) or "none"
    raise DataError(
        f"no such file or dataset: {dataset!r}. Pass a .json/.jsonl/.parquet path, a dataset folder, "
        f"a Hugging Face name such as {KNOWN_HUB_DATASETS[0]!r}, or a named set ({named})."
    )


def load_tasks(
    dataset: str,
    *,
    split: str | None = None,
    instance_ids: Sequence[str] | None = None,
    repo: str | Sequence[str] | None = None,
    limit: int | None = None,
) -> list[Task]:
    """Load and validate tasks, then filter by instance id, repository and count.

    An instance id that was asked for but is not in the dataset is an error (a typo should
    not silently shrink a run).
    """
    label, rows = iter_raw_rows(dataset, split)
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        task = validate_row(dict(raw) if not isinstance(raw, dict) and hasattr(raw, "keys") else raw, path=label, row=number)
        if task.instance_id in seen:
            raise DataError(
                f"duplicate instance_id {task.instance_id!r} (first at row {seen[task.instance_id]})",
                path=label, row=number, field="instance_id",
            )
        seen[task.instance_id] = number
        tasks.append(task)
    if instance_ids:
        wanted = list(dict.fromkeys(instance_ids))
        missing = [i for i in wanted if i not in seen]
        if missing:
            raise DataError(f"instance id(s) not found: {', '.join(missing)}", path=label)
        order = {iid: n for n, iid in enumerate(wanted)}
        tasks = sorted((t for t in tasks if t.instance_id in order), key=lambda t: order[t.instance_id])
    if repo:
        repos = {repo} if isinstance(repo, str) else set(repo)
        tasks = [t for t in tasks if t.repo in repos or t.repo_name in repos]
    if limit is not None:
        tasks = tasks[: max(limit, 0)]
    return tasks


def tasks_by_id(tasks: Iterable[Task]) -> dict[str, Task]:
    return {t.instance_id: t for t in tasks}


__all__ = ["load_tasks", "validate_row", "iter_raw_rows", "tasks_by_id", "TASK_FIELDS"]
