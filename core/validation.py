"""Row fields that end up in commands (git, Docker tags, file names) checked at load time.

Task rows are untrusted input (see ``docs/SECURITY.md``). Every place that passes a row field to
a command also quotes it or passes it as an argv element; this module is the second wall: a value
that no real SWE-bench / SWE-Gym row has (a ``base_commit`` that is a git revision *expression*
such as ``HEAD^{/x|$(cmd)}``, a repository name with a space or a ``$``) is refused when the row is
loaded, with a DataError naming the row and field, before anything runs.
"""
from __future__ import annotations

import re
from typing import Any

from .errors import DataError

#: A commit is named by its hex object id (SHA-1: 40, SHA-256: 64; abbreviations allowed).
COMMIT = re.compile(r"[0-9a-fA-F]{1,64}")
#: ``owner/name`` as GitHub spells it (letters, digits, ``-``, ``_``, ``.``; no leading dot or dash).
REPO = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
#: Versions such as ``0.8``, ``1.10``, ``2022.03``, ``5.0.dev``.
VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}")
#: Instance ids (``owner__repo-1234``): they also name images, containers' labels and folders, so
#: only what an image reference can hold, plus ``/``; no whitespace, no shell characters, no leading dash.
INSTANCE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_commit(value: str, *, path: str | None = None, row: int | None = None,
                 field: str = "base_commit") -> str:
    """``value`` when it is a hex commit id; otherwise a DataError (also used by the image builder)."""
    if not isinstance(value, str) or not COMMIT.fullmatch(value):
        raise DataError(f"must be a commit SHA (hex digits only, e.g. 'c8ae6893946e…'), got {_show(value)}",
                        path=path, row=row, field=field)
    return value


def check_fields(row: dict[str, Any], *, path: str | None = None, row_number: int | None = None) -> None:
    """Refuse a validated row whose command-bound fields could be read as shell or git syntax."""
    where = {"path": path, "row": row_number}
    check_commit(row["base_commit"], **where)
    setup = row.get("environment_setup_commit")
    if setup:  # empty means "none" in some exports
        check_commit(setup, **where, field="environment_setup_commit")
    if not REPO.fullmatch(row["repo"]) or ".." in row["repo"]:
        raise DataError(f"must be a repository name owner/name (letters, digits, '-', '_', '.'), got "
                        f"{_show(row['repo'])}", **where, field="repo")
    if not INSTANCE_ID.fullmatch(row["instance_id"]):
        raise DataError("must be an id of letters, digits and . _ - / such as 'django__django-11099' (no spaces "
                        f"or shell characters, at most 200), got {_show(row['instance_id'])}", **where,
                        field="instance_id")
    version = row.get("version") or ""
    if version and not VERSION.fullmatch(version):
        raise DataError(f"must be a version such as '1.10' (letters, digits, . _ + -), got {_show(version)}",
                        **where, field="version")
    for name in ("problem_statement", "hints_text", "patch", "test_patch", "created_at"):
        value = row.get(name)
        if isinstance(value, str) and _lone_surrogate(value):
            raise DataError("holds an unpaired UTF-16 surrogate (not valid Unicode text)", **where, field=name)
    for name in ("FAIL_TO_PASS", "PASS_TO_PASS"):
        for test in row.get(name) or []:
            if _CONTROL.search(test) or _lone_surrogate(test):
                raise DataError(f"test name {_show(test)} holds control characters or invalid Unicode",
                                **where, field=name)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["check_commit", "check_fields", "COMMIT", "REPO", "VERSION", "INSTANCE_ID"]
