"""Environment specs: how to build the image a repository's task runs in, and how to test it.

The table is data (``environments.yaml`` beside this module, transcribed from SWE-bench's and SWE-Gym's harness
constants) so it can be read and reviewed without reading code. A repository missing from it gets
a default Python spec; users add or override repositories with their own file (same format,
``--env-spec FILE``). The harness reads ``test_cmd``; the docker runtime reads the rest.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DataError

TABLE = Path(__file__).parent / "environments.yaml"
FIELDS = ("python", "pre_install", "install", "pip_packages", "packages", "requirements_paths", "test_cmd",
          "eval_commands", "env")
LIST_FIELDS = ("pre_install", "pip_packages", "requirements_paths", "eval_commands")


@dataclass
class EnvSpec:
    """One repository+version environment. ``source`` says where it came from (table, file, default)."""

    repo: str
    version: str
    python: str | None = None
    pre_install: list[str] = field(default_factory=list)
    install: str = ""
    pip_packages: list[str] = field(default_factory=list)
    test_cmd: str = "pytest -rA"
    env: dict[str, str] = field(default_factory=dict)
    packages: str = ""
    requirements_paths: list[str] = field(default_factory=list)
    eval_commands: list[str] = field(default_factory=list)
    source: str = "default"
    #: True when the version was not in the table and the nearest listed version was used.
    approximate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def env_hash(self) -> str:
        """Content hash of what the shared environment layer depends on."""
        return _hash({"python": self.python, "pip_packages": self.pip_packages, "env": self.env,
                      "packages": self.packages if self.packages not in ("requirements.txt", "environment.yml") else ""})

    def instance_hash(self) -> str:
        """Content hash of what the per-instance layer depends on (besides repo and commit)."""
        return _hash({"pre_install": self.pre_install, "install": self.install, "packages": self.packages,
                      "requirements_paths": self.requirements_paths})


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _check_entry(raw: Any, where: str, path: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DataError(f"{where} must be a mapping of spec fields", path=path)
    unknown = set(raw) - set(FIELDS) - {"versions"}
    if unknown:
        raise DataError(f"{where} has unknown field(s) {sorted(unknown)}; known: {', '.join(FIELDS)}", path=path)
    clean = dict(raw)
    for name in LIST_FIELDS:
        if name in clean:
            value = clean[name]
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(f"{where}: {name!r} must be a list of strings", path=path)
            clean[name] = value
    for name in ("python", "install", "test_cmd", "packages"):
        if name in clean and clean[name] is not None:
            clean[name] = str(clean[name])
    if "env" in clean:
        if not isinstance(clean["env"], dict):
            raise DataError(f"{where}: 'env' must map names to values", path=path)
        clean["env"] = {str(k): str(v) for k, v in clean["env"].items()}
    return clean


def load_table(path: str | Path) -> tuple[dict[str, Any], dict[str, list[tuple[list[str], dict[str, Any]]]], dict[str, str]]:
    """Parse a spec file into (default fields, repo → [(versions, fields)], repo → source label)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise DataError("environment spec file not found", path=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"not valid YAML: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise DataError("expected a mapping with 'repositories' (and optionally 'default')", path=str(path))
    default = _check_entry(data.get("default"), "default", str(path))
    repos: dict[str, list[tuple[list[str], dict[str, Any]]]] = {}
    sources: dict[str, str] = {}
    for repo, entry in (data.get("repositories") or {}).items():
        where = f"repositories.{repo}"
        if not isinstance(entry, dict) or "/" not in str(repo):
            raise DataError(f"{where}: expected owner/name mapped to 'specs' (and optional 'defaults')", path=str(path))
        defaults = _check_entry(entry.get("defaults"), f"{where}.defaults", str(path))
        items = entry.get("specs") or [{}]
        if not isinstance(items, list):
            raise DataError(f"{where}.specs must be a list", path=str(path))
        groups = []
        for n, item in enumerate(items):
            fields = _check_entry(item, f"{where}.specs[{n}]", str(path))
            versions = [str(v) for v in fields.pop("versions", None) or ["*"]]
            groups.append((versions, {**defaults, **fields}))
        repos[str(repo)] = groups
        sources[str(repo)] = f"{entry.get('source') or path.name}"
    return default, repos, sources


@lru_cache(maxsize=8)
def _cached_table(path: str, mtime: float):
    return load_table(path)


def _table(path: str | Path):
    p = Path(path).resolve()
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise DataError("environment spec file not found", path=str(p)) from None
    return _cached_table(str(p), mtime)


def _version_key(v: str) -> tuple:
    parts = []
    for piece in v.lstrip("v").replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def _pick(groups: list[tuple[list[str], dict[str, Any]]], version: str) -> tuple[dict[str, Any], bool]:
    for versions, fields in groups:
        if version in versions or "*" in versions:
            return fields, False
    # Not listed: the highest listed version not above it, else the lowest listed.
    listed = sorted(((_version_key(v), fields) for versions, fields in groups for v in versions),
                    key=lambda item: item[0])
    key = _version_key(version or "0")
    best = None
    for vkey, fields in listed:
        if vkey <= key:
            best = fields
    return (best if best is not None else listed[0][1]), True


def get_spec(repo: str, version: str, spec_file: str | Path | None = None) -> EnvSpec:
    """The spec for ``repo`` at ``version``: the user's file first, then the shipped table, then the default.

    The ``default`` section only applies to repositories no table lists (a user file's ``default``
    replaces the shipped one).
    """
    default, repos, sources = _table(TABLE)
    if spec_file is not None:
        u_default, u_repos, u_sources = _table(spec_file)
        if repo in u_repos:
            fields, approx = _pick(u_repos[repo], version)
            return _build(repo, version, dict(fields), str(spec_file), approx)
        if u_default:
            default = {**default, **u_default}
    if repo in repos:
        fields, approx = _pick(repos[repo], version)
        return _build(repo, version, dict(fields), sources[repo], approx)
    lowered = {r.lower(): r for r in repos}
    if repo.lower() in lowered:
        real = lowered[repo.lower()]
        fields, approx = _pick(repos[real], version)
        return _build(repo, version, dict(fields), sources[real], approx)
    return _build(repo, version, dict(default), "default", False)


def _build(repo: str, version: str, fields: dict[str, Any], source: str, approximate: bool) -> EnvSpec:
    values = {k: v for k, v in fields.items() if k in FIELDS and v is not None}
    return EnvSpec(repo=repo, version=str(version), source=source, approximate=approximate, **values)


def known_repositories() -> list[str]:
    """Repositories the shipped table has specs for."""
    return sorted(_table(TABLE)[1])


__all__ = ["EnvSpec", "get_spec", "load_table", "known_repositories", "TABLE"]
