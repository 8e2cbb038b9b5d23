"""``--strict-grading``: refuse patches that change how tests run instead of what they test.

SWE-bench (and swegym by default) grades whatever the test command reports, so a patch that adds
a ``conftest.py`` forcing every test to pass, a ``sitecustomize.py`` that patches pytest, or a
``[tool.pytest.ini_options]`` change that deselects failing tests is graded ``resolved``. For RL
that is a reward to game. Strict mode grades such a patch ``unresolved`` (reason
``touches_test_infrastructure``) unless the file is one of the task's own test files (those
the test patch touches, which are reset before grading anyway).
"""
from __future__ import annotations

import posixpath
import re

from ..types import Task
from .testspec import modified_files, patch_files

#: Files that configure or hook into test collection wherever they sit.
HOOK_FILES = {"conftest.py", "sitecustomize.py", "usercustomize.py", "pytest.ini", "tox.ini", ".pytest.ini"}
#: Files that may hold a pytest section: refused only when the patch's change mentions pytest.
SECTION_FILES = {"setup.cfg", "pyproject.toml"}
_SECTION = re.compile(r"(?m)^(?=diff --git )")


def test_infrastructure_files(patch: str, task: Task) -> list[str]:
    """Files of ``patch`` that change test collection or running, outside the task's test files."""
    allowed = set(patch_files(task.test_patch)) | set(modified_files(task.test_patch))
    sections = {}
    for section in _SECTION.split(patch):
        names = patch_files(section) or modified_files(section)
        if names:
            sections[names[0]] = section
    touched = list(dict.fromkeys([*patch_files(patch), *modified_files(patch), *sections]))
    out = []
    for path in touched:
        if path in allowed:
            continue
        name = posixpath.basename(path)
        changed = "\n".join(line for line in sections.get(path, "").splitlines()
                            if line[:1] in "+-" and not line.startswith(("+++", "---")))
        if name in HOOK_FILES or name.endswith(".pth") or (name in SECTION_FILES and "pytest" in changed):
            out.append(path)
    return out


__all__ = ["test_infrastructure_files", "HOOK_FILES", "SECTION_FILES"]
