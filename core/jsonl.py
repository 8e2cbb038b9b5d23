"""Reading and writing JSON the one way swegym does it.

Reading: numbered rows, blank lines skipped, and anything malformed (bad JSON, bytes that are not
UTF-8, nesting too deep for the parser, an empty file) reported as a DataError naming the file and
the row, never a traceback. Writing: any string a model or a file produced can be written, lone
UTF-16 surrogates included (``"\\ud83d"`` is legal in a Python str and in JSON, not in UTF-8).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from .errors import DataError


def loads(text: str | bytes, *, path: str | Path | None = None, row: int | None = None, hint: str = "") -> Any:
    """``json.loads`` that fails as a DataError (bad JSON, bad UTF-8, nesting too deep)."""
    where = {"path": None if path is None else str(path), "row": row}
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8",
                            **where) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        position = f"at column {exc.colno}" if row is not None else f"at line {exc.lineno}"
        raise DataError(f"not valid JSON ({exc.msg} {position}){hint}", **where) from None
    except RecursionError:
        raise DataError("JSON nested too deeply to read (thousands of levels); no real row is like this",
                        **where) from None


def read_json(path: str | Path, *, hint: str = "") -> Any:
    """The JSON value in ``path``; an unreadable, empty, non-UTF-8 or malformed file is a DataError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if not data.strip():
        raise DataError(f"is empty (expected a JSON document){hint}", path=str(path))
    return loads(data, path=path, hint=hint)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed value)`` for every non-blank line of ``path``."""
    path = Path(path)
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            yield number, loads(line, path=path, row=number, hint="; each line must be one JSON object")


def dumps_line(value: Any) -> str:
    """One JSON line (with ``\\n``) that always encodes as UTF-8.

    Text stays readable (``ensure_ascii=False``) unless it holds a lone surrogate: then that row
    is written with ``\\uXXXX`` escapes, which JSON readers turn back into the same string.
    """
    line = json.dumps(value, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(value, ensure_ascii=True)
    return line + "\n"
