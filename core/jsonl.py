"""Reading JSONL files the one way swegym does it: numbered rows, blank lines skipped, and a
malformed line reported as a DataError naming the file and the row."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from .errors import DataError


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed value)`` for every non-blank line of ``path``."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object",
                                path=str(path), row=number) from None
