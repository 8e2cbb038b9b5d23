"""Unified diffs as sandboxes produce them: the one place binary file sections are dropped."""
from __future__ import annotations

import re

_SECTION = re.compile(r"(?m)^(?=diff --git )")
_BINARY = re.compile(r"(?m)^(Binary files .* differ|GIT binary patch)$")


def strip_binary(diff: str) -> str:
    """Drop the per-file sections of a git diff that are binary (they cannot be applied as text)."""
    if "Binary files " not in diff and "GIT binary patch" not in diff:
        return diff
    return "".join(s for s in _SECTION.split(diff) if not _BINARY.search(s))
