"""The hooks a swegym plugin may implement.

A plugin is a module listed in ``swegym.plugins.BUILTIN_PLUGINS`` or registered under the ``swegym``
entry-point group (third parties).
It implements some of these hooks with ``@swegym.hookimpl`` and calls ``register(name, factory)``
for every implementation it offers. A factory takes keyword options and returns an instance of
the matching interface; it should import heavy libraries only when called.

    import swegym

    @swegym.hookimpl
    def register_policies(register):
        register("echo", EchoPolicy)
"""
from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("swegym")
hookimpl = pluggy.HookimplMarker("swegym")

Register = Callable[..., None]


@hookspec
def register_runtimes(register: Register) -> None:
    """Offer Runtime factories: ``register("docker", DockerRuntime)``."""


@hookspec
def register_policies(register: Register) -> None:
    """Offer Policy factories: ``register("litellm", LiteLLMPolicy)``."""


@hookspec
def register_scaffolds(register: Register) -> None:
    """Offer Scaffold factories: ``register("openhands", CodeActScaffold)``."""


@hookspec
def register_verifiers(register: Register) -> None:
    """Offer Verifier factories: ``register("orm", OrmVerifier)``."""


@hookspec
def register_trainers(register: Register) -> None:
    """Offer Trainer factories: ``register("torchtune-lora", LoraTrainer)``."""


@hookspec
def register_executors(register: Register) -> None:
    """Offer rollout executors: ``register("ray", RayExecutor)``."""


@hookspec
def register_datasets(register: Register) -> None:
    """Offer named task sets loadable with ``-d NAME``: ``register("demo", load_demo_rows)``.

    The factory takes no arguments and returns an iterable of raw task rows (dicts).
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``swegym`` CLI group."""


@hookspec
def register_statement_sources(register: Register) -> None:
    """Offer problem-statement sources for ``swegym tasks mine --statements NAME``.

    ``register("llm", factory)``: ``factory(**options)`` returns a callable taking a mining
    candidate (``swegym.mining.Candidate``: repo, number, patch, test_patch, message…) and
    returning a ``swegym.mining.Statement`` (or None to fall back to the commit message).
    """


@hookspec
def add_cli_options(group: Any) -> None:
    """Add your components' own flags, as ``pytest_addoption`` does, so core names none of them.

    ``group.add("--docker-host", kind="runtime", component="docker", key="base_url", help=...)``:
    the flag appears on every command that creates a component of ``kind`` and its value reaches
    the options of ``component`` (when that is the one in use). ``selects=True`` makes the flag
    choose its component when the user named none. See :mod:`swegym.cli.plugin_flags`.
    """


@hookspec(firstresult=True)
def default_policy(model: str | None) -> str | None:
    """The policy to use when ``--policy`` is not given, from ``--model`` (first non-None answer wins).

    A local model folder might say ``"hf"``, a provider/model name ``"litellm"``.
    """


@hookspec
def policy_task_options(policy: str, task: Any) -> dict[str, Any] | None:
    """Per-task options for the policy called ``policy`` (e.g. which recorded trajectory to replay
    for ``task``); merged under the run's own policy options, which win."""


@hookspec(firstresult=True)
def sampling_defaults(policy: str) -> dict[str, Any] | None:
    """Sampling settings a policy needs unless the user sets them (``{"max_tokens": 192}`` for a
    small CPU model), as a dict of ``SamplingSettings`` fields."""


@hookspec(firstresult=True)
def sft_format(scaffold: str) -> str | None:
    """The ``swegym export sft`` format that matches trajectories of ``scaffold`` (None: not yours)."""
