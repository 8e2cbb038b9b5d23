"""Files that are either whole or absent: write to a temporary sibling, then rename over the target.

A killed process (Ctrl-C, ``kill -9``, a full disk) must never leave a half-written manifest,
report or export behind, since a resumed run trusts what it finds.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator


@contextlib.contextmanager
def atomic_output(path: str | Path, *, fsync: bool = False) -> Iterator[IO[str]]:
    """A text file handle whose content replaces ``path`` only when the block ends without error.

    ``fsync`` also forces the bytes to disk before the rename (for files a resume relies on).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=SAFE_ERRORS) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | Path, text: str, *, fsync: bool = False) -> None:
    with atomic_output(path, fsync=fsync) as fh:
        fh.write(text)


def write_json_atomic(path: str | Path, data: Any, *, fsync: bool = False) -> None:
    """``data`` as indented JSON (values JSON cannot hold are written as ``str``)."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n", fsync=fsync)


#: Encoding error handler for text files written from model output or task data: bytes smuggled in
#: by ``surrogateescape`` are written back as they were, any other lone surrogate becomes U+FFFD.
SAFE_ERRORS = "swegym-safe"


def _safe_errors(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start:exc.end]:
        code = ord(ch)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else "\ufffd".encode("utf-8")
    return bytes(out), exc.end


import codecs  # noqa: E402 - kept next to the handler it registers

codecs.register_error(SAFE_ERRORS, _safe_errors)


def write_text_safe(path: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8 whatever it holds (see :data:`SAFE_ERRORS`); for logs and patches."""
    Path(path).write_bytes(text.encode("utf-8", SAFE_ERRORS))
