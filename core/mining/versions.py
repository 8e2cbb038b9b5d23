"""The release version of a repository at a commit, and the environment set-up commit of a version.

Rule per repository (``versions.yaml``, or ``version_rule`` under a repository in an
``--env-spec`` file): read a file at the commit and take a regular expression's first group.
Default: the nearest tag. Either way the version is cut to ``major.minor``, the key the spec
table uses. ``environment_setup_commit`` follows SWE-bench's idea (one commit whose environment
serves every task of that version): the newest main-line commit still at that version.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from . import git

RULES = Path(__file__).with_name("versions.yaml")
_MAJOR_MINOR = re.compile(r"v?(\d+)\.(\d+)")
_SINGLE = re.compile(r"v?(\d+)(?:$|[^\d.])")


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, list[dict[str, str]]]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {str(k): list(v or []) for k, v in data.items()}


def rules_for(repo: str, spec_file: str | Path | None = None) -> list[dict[str, str]]:
    """The version rule of ``repo``: the user's spec file first, then the shipped table; [] = nearest tag."""
    if spec_file:
        import yaml

        data = yaml.safe_load(Path(spec_file).read_text(encoding="utf-8")) or {}
        entry = ((data.get("repositories") or {}).get(repo) or {})
        rule = entry.get("version_rule") if isinstance(entry, dict) else None
        if rule:
            return list(rule) if isinstance(rule, list) else [rule]
    return _load(str(RULES)).get(repo, [])


def major_minor(text: str) -> str:
    """'4.1.8.dev' → '4.1'; '2021.01.0' → '2021.01'; 'v2' → '2.0'; '' when nothing version-like is there.

    The digits are kept as written (SWE-bench's versioning splits the string): dask's tags went
    from '2022.05.2' to '2022.6.0', and the spec table keys them '2022.05' and '2022.6'.
    """
    m = _MAJOR_MINOR.search(text or "")
    if m:
        return f"{m.group(1)}.{m.group(2)}"
    m = _SINGLE.search(text or "")
    return f"{int(m.group(1))}.0" if m else ""


def version_at(repo_path: str | Path, repo: str, commit: str, spec_file: str | Path | None = None) -> str:
    """The ``major.minor`` release version of ``repo`` at ``commit`` ('' when unknown)."""
    for rule in rules_for(repo, spec_file):
        text = git.show_file(repo_path, commit, rule["file"])
        if text is None:
            continue
        m = re.search(rule["pattern"], text)
        version = major_minor(m.group(1)) if m else ""
        if version:  # a match that is not a version ('unknown') falls through to the next rule
            return version
    tag = git.nearest_tag(repo_path, commit)
    return major_minor(tag) if tag else ""


def version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".") if p.isdigit()) if v else ()


class SetupCommits:
    """``environment_setup_commit`` per version: the newest main-line commit whose version is it.

    Versions grow along the main line, so a binary search over it finds the last commit at or
    below a version with log(N) version reads; results are cached per version.
    """

    def __init__(self, repo_path: str | Path, repo: str, line: Sequence[str], spec_file: str | Path | None = None):
        self.repo_path, self.repo, self.spec_file = repo_path, repo, spec_file
        self.line = list(line)  # newest first
        self._versions: dict[int, str] = {}
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def _v(self, i: int) -> tuple[int, ...]:
        if i not in self._versions:
            self._versions[i] = version_at(self.repo_path, self.repo, self.line[i], self.spec_file)
        return version_key(self._versions[i])

    def __call__(self, version: str, fallback: str) -> str:
        if not version or not self.line:
            return fallback
        with self._lock:
            if version not in self._cache:
                want = version_key(version)
                lo, hi = 0, len(self.line) - 1  # newest at 0: find the smallest index with key <= want
                if self._v(hi) > want:
                    self._cache[version] = fallback
                    return fallback
                while lo < hi:
                    mid = (lo + hi) // 2
                    if self._v(mid) <= want:
                        hi = mid
                    else:
                        lo = mid + 1
                self._cache[version] = self.line[lo] if self._v(lo) == want else fallback
            return self._cache[version]


__all__ = ["rules_for", "major_minor", "version_at", "version_key", "SetupCommits", "RULES"]
