"""Reading a repository's history with the ``git`` command line (a clone or a bare mirror).

Why the CLI and not a binding: git is already required by the image builder, and its porcelain
output is stable; every call here is read-only.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import SwegymError

_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
_FIELD, _RECORD = "\x00", "\x1e"


def git(repo: str | Path, *args: str, check: bool = True) -> str:
    """Run ``git -C repo args`` and return stdout (text, undecodable bytes kept as surrogates)."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                          env={**os.environ, **_ENV})
    if check and proc.returncode:
        err = proc.stderr.decode("utf-8", "replace").strip()[:500]
        raise SwegymError(f"git {' '.join(args[:3])} in {repo} failed: {err}")
    return proc.stdout.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Commit:
    """One commit of the main line."""

    sha: str
    parents: tuple[str, ...]
    author_date: str  # ISO 8601 with offset
    commit_date: str
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


def main_line(repo: str | Path, ref: str = "HEAD", *, since: str | None = None, until: str | None = None) -> list[Commit]:
    """Commits of ``ref``'s first-parent line, newest first (the history a branch's users saw)."""
    args = ["log", "--first-parent", "--format=%H%x00%P%x00%aI%x00%cI%x00%B%x1e"]
    if since:
        args.append(f"--since={since}")
    if until:
        args.append(f"--until={until}")
    out = git(repo, *args, ref, "--")
    commits = []
    for record in out.split(_RECORD):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, adate, cdate, message = record.split(_FIELD, 4)
        commits.append(Commit(sha, tuple(parents.split()), adate, cdate, message.strip("\n")))
    return commits


def diff(repo: str | Path, old: str, new: str, *, three_dot: bool = False) -> str:
    """``git diff old new`` (``old...new`` with ``three_dot``, GitHub's pull-request diff): text hunks,
    renames detected, no colour."""
    span = [f"{old}...{new}"] if three_dot else [old, new]
    return git(repo, "-c", "diff.renames=true", "-c", "core.quotePath=false", "diff", "--no-color",
               "--no-ext-diff", *span)


def first_parent_shas(repo: str | Path, ref: str = "HEAD") -> list[str]:
    """Every commit of ``ref``'s first-parent line, newest first."""
    return git(repo, "rev-list", "--first-parent", ref, "--").split()


def has_commit(repo: str | Path, sha: str) -> bool:
    return bool(sha) and subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}^{{commit}}"],
                                        capture_output=True, env={**os.environ, **_ENV}).returncode == 0


def show_file(repo: str | Path, commit: str, path: str) -> str | None:
    """The content of ``path`` at ``commit``, or None when it does not exist there."""
    proc = subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{path}"], capture_output=True,
                          env={**os.environ, **_ENV})
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def missing_files(repo: str | Path, commit: str) -> list[str]:
    """Paths in ``commit``'s tree whose contents the repository lacks (a partial clone's filtered blobs).

    ``rev-list --missing=print`` lists them without the lazy fetch a partial clone would try (and
    fail, offline); an image built from such a mirror would lack those files, so mining reports them.
    """
    out = git(repo, "rev-list", "--objects", "--no-walk", "--missing=print", commit, "--")
    missing = {line[1:].strip() for line in out.splitlines() if line.startswith("?")}
    if not missing:
        return []
    paths = []
    for line in git(repo, "ls-tree", "-r", "--full-tree", commit).splitlines():
        meta, _, path = line.partition("\t")
        if meta.split()[-1] in missing:
            paths.append(path)
    return paths or sorted(missing)


def nearest_tag(repo: str | Path, commit: str) -> str | None:
    """The newest tag reachable from ``commit`` (``git describe --tags --abbrev=0``), or None."""
    out = git(repo, "describe", "--tags", "--abbrev=0", commit, check=False).strip()
    return out or None


__all__ = ["git", "Commit", "main_line", "diff", "first_parent_shas", "has_commit", "show_file", "missing_files",
           "nearest_tag"]
