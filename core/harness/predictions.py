"""Reading predictions in SWE-bench's format: ``instance_id``, ``model_patch``, ``model_name_or_path``.

Accepted: a JSON list, a JSON object keyed by instance id (SWE-bench's older dict form), or JSONL.
Bad rows raise DataError naming file, row and field.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..jsonl import loads


@dataclass
class Prediction:
    instance_id: str
    model_patch: str
    model_name_or_path: str = ""


def _rows(path: Path) -> list[tuple[int, Any]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8",
                        path=str(path)) from None
    stripped = text.lstrip()
    if path.suffix.lower() == ".jsonl" or (stripped and stripped[0] == "{" and "\n{" in stripped.rstrip()):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            rows.append((number, loads(line, path=path, row=number)))
        return rows
    if not stripped:
        raise DataError("is empty (expected a JSON list of predictions or JSONL)", path=str(path))
    data = loads(text, path=path, hint="; use a JSON list or JSONL")
    if isinstance(data, dict):
        if "instance_id" in data:
            data = [data]
        else:  # {"id": {...prediction...}}
            data = [{"instance_id": k, **v} if isinstance(v, dict) else v for k, v in data.items()]
    if not isinstance(data, list):
        raise DataError("expected a JSON list of predictions (or JSONL)", path=str(path))
    return list(enumerate(data, start=1))


def load_predictions(path: str | Path) -> dict[str, Prediction]:
    """Predictions by instance id; a duplicate id or a missing field is an error."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("predictions file not found (pass a .json list or .jsonl of SWE-bench predictions)",
                        path=str(path))
    out: dict[str, Prediction] = {}
    for number, row in _rows(path):
        if not isinstance(row, dict):
            raise DataError(f"expected an object, got {type(row).__name__}", path=str(path), row=number)
        iid = row.get("instance_id")
        if not isinstance(iid, str) or not iid:
            raise DataError("missing or empty", path=str(path), row=number, field="instance_id")
        patch = row.get("model_patch")
        if patch is None:
            patch = ""
        if not isinstance(patch, str):
            raise DataError(f"must be a string (a unified diff), got {type(patch).__name__}",
                            path=str(path), row=number, field="model_patch")
        if iid in out:
            raise DataError(f"duplicate instance_id {iid!r}", path=str(path), row=number, field="instance_id")
        out[iid] = Prediction(iid, patch, str(row.get("model_name_or_path") or ""))
    return out


__all__ = ["Prediction", "load_predictions"]
