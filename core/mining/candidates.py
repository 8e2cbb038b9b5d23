"""Candidates from history: main-line commits that land a pull request and change code and tests.

A pull request lands on the main line either as a merge commit ("Merge pull request #N from …",
two parents) or as a squash/rebase commit whose subject ends in ``(#N)``. The diff against the
main-line parent is the pull request's net change; it is split, file by file, into the fix
(``patch``) and the tests (``test_patch``) by SWE-bench's collection rule (swebench 5.0.2
``collect/utils.py::extract_patches``): a file whose path contains ``test``, ``tests``, ``e2e`` or
``testing`` belongs to the test patch.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import git
from .git import Commit

#: SWE-bench's words; "test" alone already matches the longer two, kept for fidelity.
TEST_WORDS = ("test", "tests", "e2e", "testing")
_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
_MERGE = re.compile(r"^Merge pull request #(\d+) from \S+")


def classify(commit: Commit) -> tuple[str, int] | None:
    """``("merge", N)`` / ``("squash", N)`` for a commit that lands pull request N, else None."""
    m = _MERGE.match(commit.subject)
    if m and len(commit.parents) >= 2:
        return "merge", int(m.group(1))
    m = _SQUASH.search(commit.subject)
    if m and len(commit.parents) == 1:
        return "squash", int(m.group(1))
    return None


def is_test_path(path: str) -> bool:
    """SWE-bench's rule: any of the test words occurs in the file's path."""
    return any(word in path for word in TEST_WORDS)


def split_patch(diff_text: str) -> tuple[str, str]:
    """(patch, test_patch): the diff's files, non-test ones first part, test ones second (unidiff, as upstream)."""
    from unidiff import PatchSet

    fix, test = [], []
    for patched in PatchSet(diff_text):
        (test if is_test_path(patched.path) else fix).append(str(patched))
    return "".join(fix), "".join(test)


def instance_id(repo: str, number: int) -> str:
    """``owner/name`` + PR number → ``owner__name-N`` (SWE-bench's form)."""
    return f"{repo.replace('/', '__')}-{number}"


def pr_message(commit: Commit) -> str:
    """What the commit says about its pull request: a merge commit's body (the PR title), else its message."""
    if _MERGE.match(commit.subject):
        body = commit.message.split("\n", 1)[1].strip() if "\n" in commit.message else ""
        return body or commit.message
    return commit.message


@dataclass
class Candidate:
    """One pull request that may become a task (before execution)."""

    repo: str
    number: int
    kind: str  # merge | squash
    commit: str  # the main-line commit that landed it
    parent: str  # its main-line parent: the offline base
    base_commit: str
    patch: str
    test_patch: str
    created_at: str
    message: str
    base_source: str = "parent"  # parent | github
    version: str = ""
    environment_setup_commit: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def instance_id(self) -> str:
        return instance_id(self.repo, self.number)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def iso_to_row_date(iso: str) -> str:
    """'2023-04-09T10:05:43+00:00' → '2023-04-09 10:05:43' in UTC (SWE-Gym's created_at form)."""
    from datetime import datetime, timezone

    iso = iso.replace("Z", "+00:00")
    return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def find_candidates(repo_path: str | Path, repo: str, *, ref: str = "HEAD", since: str | None = None,
                    until: str | None = None, prs: Iterable[int] | None = None) -> Iterable[tuple[Commit, str, int]]:
    """Main-line commits landing a pull request, newest first: (commit, kind, number)."""
    wanted = set(prs or [])
    for commit in git.main_line(repo_path, ref, since=since, until=until):
        found = classify(commit)
        if found is None or (wanted and found[1] not in wanted):
            continue
        yield commit, found[0], found[1]


def make_candidate(repo_path: str | Path, repo: str, commit: Commit, kind: str, number: int) -> tuple[Candidate | None, str]:
    """Split the commit's diff; (None, reason) unless it changes both non-test code and tests."""
    parent = commit.parents[0]
    patch, test_patch = split_patch(git.diff(repo_path, parent, commit.sha))
    if not test_patch.strip():
        return None, "no test changes"
    if not patch.strip():
        return None, "no non-test changes"
    return Candidate(repo=repo, number=number, kind=kind, commit=commit.sha, parent=parent, base_commit=parent,
                     patch=patch, test_patch=test_patch, created_at=iso_to_row_date(commit.author_date),
                     message=pr_message(commit)), ""


__all__ = ["TEST_WORDS", "classify", "is_test_path", "split_patch", "instance_id", "pr_message", "Candidate",
           "find_candidates", "make_candidate", "iso_to_row_date"]
