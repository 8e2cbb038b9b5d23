"""Make new tasks from a repository's history (``swegym tasks mine``).

    from swegym.mining import mine_tasks
    result = mine_tasks("getmoto/moto", "tasks.jsonl", source="/path/to/moto.git", limit=20)

Pipeline: :mod:`candidates` (main-line commits landing a PR that change code and tests, diff
split into patch / test_patch), :mod:`versions` (release version, set-up commit),
:mod:`statements` (problem statement: linked issue via :mod:`github`, or the commit message, or
a plugin), :mod:`execute` (tests before/after the fix, twice each, through the harness),
:mod:`report` (``mine-report.json``, the resume state), :mod:`pipeline` (the loop).
"""
from __future__ import annotations

from .candidates import Candidate, classify, is_test_path, split_patch
from .execute import TestOutcome, classify_tests
from .pipeline import MineResult, mine_tasks
from .statements import Statement, resolved_issues
from .versions import major_minor, version_at

__all__ = ["mine_tasks", "MineResult", "Candidate", "Statement", "classify", "is_test_path", "split_patch",
           "classify_tests", "TestOutcome", "resolved_issues", "major_minor", "version_at"]
