"""Option bundles shared by several commands, so every command spells them the same way."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import json

import click

from ..errors import SwegymError
from .plugin_flags import uses


def hidden_alias(*decls: str, dest: str, **kwargs: Any) -> Callable:
    """An old spelling of an option, still accepted but not shown in ``--help`` (click lets the
    flag given on the command line win over the visible option's default)."""
    return click.option(*decls, dest, hidden=True, **kwargs)


def step_and_grading_options(fn: Callable) -> Callable:
    """``--max-steps``, ``--eval-timeout`` and ``--infra-retries``: one spelling in run, rft, eval."""
    decorators = [
        click.option("--eval-timeout", "eval_timeout", type=click.FloatRange(min=1), default=1800, show_default=True,
                     help="Seconds the test command may run before the result is test_timeout."),
        hidden_alias("--timeout", dest="eval_timeout", type=click.FloatRange(min=1)),
        click.option("--infra-retries", "infra_retries", type=click.IntRange(min=0), default=2, show_default=True,
                     help="Retries (with backoff) of an infrastructure failure."),
        hidden_alias("--retries", dest="infra_retries", type=click.IntRange(min=0)),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def max_steps_option(fn: Callable) -> Callable:
    """``--max-steps``: the agent's step limit, whatever the scaffold counts as a step."""
    fn = hidden_alias("--max-iterations", dest="max_steps", type=click.IntRange(min=1))(fn)
    return click.option("--max-steps", "max_steps", type=click.IntRange(min=1), default=None,
                        help="Agent step limit (what the scaffold counts as a step).")(fn)


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


#: parameter names the core runtime flags add (``runtime_flags``); a runtime plugin adds its own
#: flags (``--docker-host``…) through the ``add_cli_options`` hook.
RUNTIME_FLAG_KEYS = ("runtime", "runtime_opt", "env_spec", "repo_source", "network")


def runtime_flags(fn: Callable) -> Callable:
    """The one set of flags of every command that opens sandboxes (run, eval, validate, rft, images…).

    Core's part names no runtime: ``--runtime``, ``--runtime-opt``, ``--repo-source``, ``--env-spec``,
    ``--network``. The runtime plugins add theirs (``--docker-host``, ``--mem-limit``…) to every
    command marked as using a runtime. Turn them into the factory's options with
    :func:`runtime_options_from_flags`.
    """
    decorators = [
        click.option("--runtime", default="docker", show_default=True,
                     help="Runtime plugin that opens the sandboxes (see `swegym plugins`)."),
        click.option("--runtime-opt", multiple=True, metavar="KEY=VALUE",
                     help="Option passed to the runtime factory (repeatable), e.g. pool_size=2 or base_url=tcp://h:2375."),
        click.option("--env-spec", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Your own environment spec table (YAML, same format as swegym/specs/environments.yaml)."),
        click.option("--repo-source", multiple=True, metavar="OWNER/NAME=PATH",
                     help="Build from a local clone or bare git directory instead of the network (repeatable)."),
        click.option("--network/--no-network", "--sandbox-network/--no-sandbox-network", "network", default=False,
                     show_default=True, help="Give agent/evaluation containers network access (off by default)."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return uses("runtime")(fn)


def runtime_options(fn: Callable) -> Callable:
    """:func:`runtime_flags`, handed to the command as ``runtime_name``, ``runtime_options`` (the
    factory's keyword options, the runtime plugin's flags included) and ``env_spec`` (the harness
    reads test commands from it too). Unknown runtime names are refused here, before any work."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k: kwargs.pop(k) for k in RUNTIME_FLAG_KEYS if k in kwargs}
        kwargs["runtime_name"] = values.get("runtime") or "docker"
        kwargs["runtime_options"] = runtime_options_from_flags(values)
        if values.get("network"):
            kwargs["runtime_options"]["network"] = True
        kwargs["env_spec"] = values.get("env_spec")
        return fn(*args, **kwargs)

    return runtime_flags(wrapper)


def runtime_options_from_flags(opts: dict[str, Any]) -> dict[str, Any]:
    """Runtime factory options from the shared flags and the runtime plugin's flags; flags left
    unset are left out, so the runtime's own defaults apply. Checks the runtime name and option
    keys against the runtime's options class (exit 2 before any work)."""
    from ..plugins import get_registry
    from ..repos import parse_repo_sources
    from .plugin_flags import plugin_options

    name = opts.get("runtime") or "docker"
    get_registry().check(runtime=name)
    options: dict[str, Any] = plugin_options("runtime", name)
    if opts.get("env_spec"):
        options["env_spec_file"] = str(Path(opts["env_spec"]).resolve())
    if opts.get("repo_source"):
        options["repo_sources"] = {k: str(v) for k, v in parse_repo_sources(opts["repo_source"]).items()}
    options.update(parse_options(opts.get("runtime_opt") or (), "--runtime-opt"))
    check_options("runtime", name, options)
    return options


def check_options(kind: str, name: str, options: dict[str, Any]) -> None:
    """Refuse unknown option keys of a component now, naming them (exit 2), when it declared a class."""
    from ..options import options_class

    cls = options_class(kind, name)
    if cls is not None:
        cls.from_dict({k: v for k, v in options.items() if k not in ("run_id",)})


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
