"""Option bundles shared by several commands, so every command spells them the same way."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import json

import click

from ..errors import SwegymError


def dataset_options(fn: Callable) -> Callable:
    """``-d/--dataset``, ``--split``, ``--instance-id`` (repeatable), ``--repo`` and ``--limit``."""
    decorators = [
        click.option("-d", "--dataset", default="demo", show_default=True,
                     help="Task source: a .json/.jsonl/.parquet file, a Hugging Face name, or a named set such as 'demo'."),
        click.option("--split", default=None, help="Dataset split for Hugging Face names and folders (default: test for SWE-bench, train for SWE-Gym, else the only split)."),
        click.option("--instance-id", "instance_ids", multiple=True, help="Only these instances (repeatable)."),
        click.option("--repo", multiple=True, help="Only tasks of this repository, owner/name or name (repeatable)."),
        click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many tasks."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def runtime_options_from_flags(opts: dict[str, Any]) -> dict[str, Any]:
    """Runtime options from the shared flags (``--docker-host``, ``--base-image``, ``--env-spec``,
    ``--repo-source``, ``--runtime-opt``); commands without a flag simply lack its key."""
    from ..repos import parse_repo_sources

    options: dict[str, Any] = {}
    if opts.get("runtime") == "docker":
        if opts.get("docker_host"):
            options["base_url"] = opts["docker_host"]
        if opts.get("base_image"):
            options["base_image"] = opts["base_image"]
        if opts.get("env_spec"):
            options["env_spec_file"] = str(Path(opts["env_spec"]).resolve())
        if opts.get("repo_source"):
            options["repo_sources"] = {k: str(v) for k, v in parse_repo_sources(opts["repo_source"]).items()}
    options.update(parse_options(opts.get("runtime_opt") or (), "--runtime-opt"))
    return options


def step_limit_option(scaffold: str, max_iterations: int | None) -> dict[str, Any]:
    """``--max-iterations`` under the name each scaffold uses (moatless counts transitions)."""
    if not max_iterations:
        return {}
    return {"max_transitions" if scaffold == "moatless" else "max_iterations": max_iterations}


def parse_options(values: tuple[str, ...], flag: str) -> dict[str, Any]:
    """``key=value`` pairs; values parse as JSON when they can (numbers, booleans, lists)."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SwegymError(f"{flag} {item!r}: expected KEY=VALUE")
        try:
            out[key.replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = raw
    return out
