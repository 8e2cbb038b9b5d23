"""Where a repository's source comes from: the network, or a local mirror.

``--repo-source owner/name=PATH`` maps a repository to a local clone or bare git directory so
images build offline. Named task sets (the demo) add their own sources through
:func:`register_repo_source`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .errors import SwegymError

_builtin: dict[str, Path] = {}


def register_repo_source(repo: str, path: str | Path) -> None:
    """Declare that ``repo`` (owner/name) can be cloned from the local ``path``."""
    _builtin[repo] = Path(path)


def parse_repo_sources(values: Iterable[str]) -> dict[str, Path]:
    """Parse repeated ``owner/name=PATH`` flags."""
    sources: dict[str, Path] = {}
    for value in values:
        repo, sep, path = value.partition("=")
        if not sep or "/" not in repo or not path:
            raise SwegymError(f"--repo-source {value!r}: expected owner/name=PATH (a clone or a bare git directory)")
        p = Path(path).expanduser().resolve()
        if not p.exists():
            raise SwegymError(f"--repo-source {value!r}: {p} does not exist")
        sources[repo] = p
    return sources


def repo_source(repo: str, overrides: dict[str, Path] | None = None) -> str:
    """A git URL or local path to clone ``repo`` from; local mirrors win over the network."""
    if overrides and repo in overrides:
        return str(overrides[repo])
    if repo in _builtin:
        return str(_builtin[repo])
    if repo.startswith("swegym-demo/"):
        from . import demo

        demo.materialize_all()
        if repo in _builtin:
            return str(_builtin[repo])
    return f"https://github.com/{repo}.git"
