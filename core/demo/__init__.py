"""The demo tasks: small self-contained repositories with real bugs, in the SWE-Gym schema.

Each task lives in ``tasks/<name>/``: ``repo/`` (the source at the buggy commit), ``task.json``
(issue, tests, expected base_commit), ``gold.patch`` and ``test.patch``. The repository is
materialized as a git repo with a fixed author, committer and date, so ``base_commit`` is the
same hash on every machine. ``-d demo`` loads them; the runtime clones them from the local
materialized copy, so the whole pipeline runs offline.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..errors import DataError

TASKS_DIR = Path(__file__).parent / "tasks"
DEMO_OWNER = "swegym-demo"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "swegym demo",
    "GIT_AUTHOR_EMAIL": "demo@swegym.invalid",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "swegym demo",
    "GIT_COMMITTER_EMAIL": "demo@swegym.invalid",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def cache_dir() -> Path:
    root = os.environ.get("SWEGYM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swegym"
    return Path(root) / "demo-repos"


def task_names() -> list[str]:
    return sorted(p.name for p in TASKS_DIR.iterdir() if (p / "task.json").exists())


def _repo_files(name: str) -> list[Path]:
    root = TASKS_DIR / name / "repo"
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith((".pyc", ".pyo"))
    )


def _content_hash(name: str) -> str:
    root = TASKS_DIR / name / "repo"
    h = hashlib.sha256()
    for p in _repo_files(name):
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _git(args: list[str], cwd: Path) -> str:
    env = {**os.environ, **_GIT_ENV}
    out = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def materialize(name: str) -> tuple[Path, str]:
    """Create (once) the git repository of demo task ``name``; return (path, commit hash)."""
    target = cache_dir() / f"{name}-{_content_hash(name)}"
    if (target / ".git").exists():
        return target, _git(["rev-parse", "HEAD"], target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    root = TASKS_DIR / name / "repo"
    for src in _repo_files(name):
        dst = tmp / src.relative_to(root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)
    _git(["-c", "init.defaultBranch=main", "init", "-q"], tmp)
    _git(["config", "core.autocrlf", "false"], tmp)
    _git(["add", "-A"], tmp)
    _git(["commit", "-q", "-m", f"{name}: code before the fix"], tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race; use theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return target, _git(["rev-parse", "HEAD"], target)


def materialize_all() -> dict[str, Path]:
    from ..repos import register_repo_source

    paths = {}
    for name in task_names():
        path, _ = materialize(name)
        register_repo_source(f"{DEMO_OWNER}/{name}", path)
        paths[name] = path
    return paths


def iter_rows() -> Iterator[dict[str, Any]]:
    """The demo tasks as raw rows; base_commit is checked against the materialized repo."""
    from ..repos import register_repo_source

    for name in task_names():
        folder = TASKS_DIR / name
        meta = json.loads((folder / "task.json").read_text())
        path, commit = materialize(name)
        register_repo_source(f"{DEMO_OWNER}/{name}", path)
        expected = meta.get("base_commit")
        if expected and expected != commit:
            raise DataError(
                f"demo repo hashes to {commit} but task.json says {expected}; "
                f"run `python -m swegym.demo --update` after editing a demo repo",
                path=str(folder / "task.json"), field="base_commit",
            )
        row = {
            "repo": f"{DEMO_OWNER}/{name}",
            "version": "0.1",
            "created_at": "2025-01-01T00:00:00Z",
            "hints_text": "",
            **meta,
            "base_commit": commit,
            "patch": (folder / "gold.patch").read_text(),
            "test_patch": (folder / "test.patch").read_text(),
        }
        yield row
