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
        click.option("--split", default=None, help="Dataset split for Hugging Face names (default: train)."),
        click.option("--instance-id", "instance_ids", multiple=True, help="Only these instances (repeatable)."),
        click.option("--repo", multiple=True, help="Only tasks of this repository, owner/name or name (repeatable)."),
        click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many tasks."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


#: parameter names the runtime flags add (``runtime_flags``); ``runtime_options`` pops them.
RUNTIME_FLAG_KEYS = ("runtime", "runtime_opt", "docker_host", "tls_verify", "tls_ca_cert", "tls_client_cert",
                     "tls_client_key", "base_image", "image_namespace", "env_spec", "repo_source", "python_source",
                     "installer", "mem_limit", "cpus", "pids_limit", "network", "offline_network")


def runtime_flags(fn: Callable) -> Callable:
    """The one set of flags of every command that opens sandboxes (run, eval, validate, rft, images…).

    The command receives them as parameters named as in :data:`RUNTIME_FLAG_KEYS`; turn them into
    the runtime factory's options with :func:`runtime_options_from_flags`.
    """
    decorators = [
        click.option("--runtime", default="docker", show_default=True,
                     help="Runtime plugin that opens the sandboxes (see `swegym plugins`)."),
        click.option("--runtime-opt", multiple=True, metavar="KEY=VALUE",
                     help="Option passed to the runtime factory (repeatable), e.g. pool_size=2."),
        click.option("--docker-host", default=None, envvar="DOCKER_HOST",
                     help="Daemon URL: unix://…, tcp://host:2375, ssh://user@host (default: DOCKER_HOST or local socket)."),
        click.option("--tls-verify/--no-tls-verify", default=None, help="Verify the daemon's TLS certificate."),
        click.option("--tls-ca-cert", type=click.Path(exists=True, dir_okay=False), default=None, help="CA certificate for TLS."),
        click.option("--tls-client-cert", type=click.Path(exists=True, dir_okay=False), default=None, help="Client certificate for TLS."),
        click.option("--tls-client-key", type=click.Path(exists=True, dir_okay=False), default=None, help="Client key for TLS."),
        click.option("--base-image", default=None,
                     help="FROM image of the base layer (default: swegym/base:<Debian suite nearest the spec's Python>, built when missing)."),
        click.option("--image-namespace", default=None,
                     help="Namespace of published per-instance images (default xingyaoww for SWE-Gym repos, swebench otherwise)."),
        click.option("--env-spec", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Your own environment spec table (YAML, same format as swegym/specs/environments.yaml)."),
        click.option("--repo-source", multiple=True, metavar="OWNER/NAME=PATH",
                     help="Build from a local clone or bare git directory instead of the network (repeatable)."),
        click.option("--python-source", type=click.Choice(["auto", "debian", "uv"]), default=None,
                     help="Where the spec's Python comes from: the nearest Debian suite, a uv-managed exact version, "
                          "or auto (exact when a suite has it, else uv, else nearest suite). Default auto."),
        click.option("--installer", type=click.Choice(["uv", "pip"]), default=None,
                     help="Package installer inside image builds (default uv, pip as its fallback)."),
        click.option("--mem-limit", default=None, help="Memory limit per sandbox container (default 4g)."),
        click.option("--cpus", type=float, default=None, help="CPUs per sandbox container (default: all)."),
        click.option("--pids-limit", type=int, default=None, help="Process limit per sandbox container (default 1024)."),
        click.option("--network/--no-network", "--sandbox-network/--no-sandbox-network", "network", default=False,
                     show_default=True, help="Give agent/evaluation containers network access (off by default)."),
        click.option("--offline-network", type=click.Choice(["none", "isolated"]), default=None,
                     help="How containers without network are cut off: none (loopback only; connections fail at "
                          "once; default) or isolated (an internal bridge with no route out: connections time out "
                          "as on a firewalled host, as e.g. requests' TestTimeout expects)."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn


def runtime_options(fn: Callable) -> Callable:
    """:func:`runtime_flags`, handed to the command as ``runtime_name``, ``runtime_options`` (the
    factory's keyword options) and ``env_spec`` (the harness reads test commands from it too)."""
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
    """Runtime factory options from the shared flags; flags left unset are left out, so the
    runtime's own defaults apply and a runtime that lacks an option is not handed it."""
    from ..repos import parse_repo_sources

    options: dict[str, Any] = {}
    renames = {"docker_host": "base_url", "env_spec": "env_spec_file"}
    for key in ("docker_host", "tls_verify", "tls_ca_cert", "tls_client_cert", "tls_client_key", "base_image",
                "image_namespace", "env_spec", "python_source", "installer", "mem_limit", "cpus", "pids_limit",
                "offline_network"):
        if opts.get(key) is not None:
            options[renames.get(key, key)] = opts[key]
    if options.get("env_spec_file"):
        options["env_spec_file"] = str(Path(options["env_spec_file"]).resolve())
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
