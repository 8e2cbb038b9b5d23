"""swegym: train software-engineering agents and verifiers on real GitHub tasks.

The public API. Heavy libraries (torch, docker, litellm) are imported only by the plugins
that need them, when they are used.

    import swegym
    tasks = swegym.load_tasks("demo")
    runtime = swegym.create("runtime", "docker")
    policy = swegym.create("policy", "replay", path="trajectory.json")
"""
from __future__ import annotations

from .errors import DataError, InfrastructureError, SwegymError
from .hookspecs import hookimpl
from .interfaces import Executor, Policy, Runtime, Sandbox, Scaffold, Trainer, Verifier
from .plugins import create, get_registry
from .tasks import load_tasks
from .types import (
    EVAL_STATUSES,
    CommandResult,
    EvalResult,
    PolicyResponse,
    SamplingParams,
    Task,
    ToolCall,
    Trajectory,
    Usage,
)

try:
    from importlib.metadata import version as _version

    __version__ = _version("swegym")
except Exception:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "DataError", "InfrastructureError", "SwegymError", "hookimpl",
    "Executor", "Policy", "Runtime", "Sandbox", "Scaffold", "Trainer", "Verifier",
    "create", "get_registry", "load_tasks",
    "EVAL_STATUSES", "CommandResult", "EvalResult", "PolicyResponse", "SamplingParams", "Task", "ToolCall",
    "Trajectory", "Usage",
]
