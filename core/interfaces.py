"""The abstractions plugins implement: Runtime (+ Sandbox), Policy, Scaffold, Verifier, Trainer, Executor.

Each is a small abstract base class. Plugins subclass them and register a factory by name
(see :mod:`swegym.hookspecs`). Nothing here imports docker, torch or litellm.
"""
from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .types import CommandResult, PolicyResponse, SamplingParams, Task, Trajectory

DEFAULT_OUTPUT_LIMIT = 30_000


class Sandbox(abc.ABC):
    """A live, isolated environment for one task: the repository at base_commit plus a shell.

    Promises: one persistent shell (cwd and environment survive between ``run`` calls); a command
    that exceeds its timeout is killed with its whole process group and the sandbox stays usable;
    output longer than ``output_limit`` characters comes back cut head + tail with a marker.
    """

    #: Where the repository lives inside the sandbox.
    repo_dir: str = "/testbed"
    task: Task

    @abc.abstractmethod
    def run(self, command: str, timeout: float = 120.0, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> CommandResult:
        """Run ``command`` in the persistent shell and return exit code and (clipped) output."""

    @abc.abstractmethod
    def read_file(self, path: str) -> str:
        """Return the text of an absolute path inside the sandbox."""

    @abc.abstractmethod
    def write_file(self, path: str, content: str) -> None:
        """Create or overwrite an absolute path inside the sandbox (parents are created)."""

    @abc.abstractmethod
    def diff(self, repo_dir: str | None = None) -> str:
        """``git diff`` of every change (new files included, binary files excluded) against base_commit.

        Binary sections are dropped with :func:`swegym.diffs.strip_binary`. A git failure in a
        working sandbox (no ``.git`` any more) raises :class:`~swegym.errors.RepositoryError`.
        """

    @abc.abstractmethod
    def reset(self) -> None:
        """Return the repository to base_commit: no modified or untracked files left."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the sandbox (remove its container). Safe to call twice."""

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Runtime(abc.ABC):
    """Opens sandboxes for tasks (a Docker daemon, a cluster, …)."""

    name: str = "runtime"

    @abc.abstractmethod
    def open(self, task: Task, *, network: bool = False, run_id: str | None = None) -> Sandbox:
        """Start a sandbox for ``task`` with the repository at base_commit."""

    def ensure_image(self, task: Task) -> str:
        """Make sure whatever ``open`` needs for ``task`` exists; return its identifier."""
        return ""

    def release(self, sandbox: Sandbox) -> None:
        """Give back a sandbox nobody needs any more; the runtime may remove it in the background.

        Removing a container costs ~0.5 s and no result depends on it, so a runtime may defer it;
        :meth:`drain` waits for what is deferred. The default closes at once.
        """
        sandbox.close()

    def drain(self, timeout: float | None = 120.0) -> None:
        """Wait until every sandbox handed to :meth:`release` is closed (``close`` drains too)."""

    def cleanup(self, run_id: str) -> int:
        """Remove sandboxes a dead process of run ``run_id`` left behind; return how many.

        Called when a run resumes after a crash or ``kill -9``.
        """
        return 0

    def close(self) -> None:
        """Release client resources."""


class Policy(abc.ABC):
    """A model: chat messages (+ optional tool schemas) and sampling in, one reply out."""

    name: str = "policy"
    #: The model identifier recorded in trajectories.
    model: str = ""

    @property
    def supports_function_calling(self) -> bool:
        """Whether ``complete`` can return native tool calls when given ``tools``."""
        return False

    @abc.abstractmethod
    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        sampling: SamplingParams | None = None,
    ) -> PolicyResponse:
        """Return the next assistant message. Context overflow → ``outcome="context_window_exceeded"``."""

    def close(self) -> None:
        """Free model resources."""


class Scaffold(abc.ABC):
    """An agent loop: drives a Policy inside a Sandbox until it finishes, and records a Trajectory."""

    name: str = "scaffold"

    @abc.abstractmethod
    def run(
        self,
        task: Task,
        sandbox: Sandbox,
        policy: Policy,
        sampling: SamplingParams | None = None,
    ) -> Trajectory:
        """Solve ``task``; the trajectory's ``patch`` is the sandbox diff at the end."""


class Verifier(abc.ABC):
    """Scores rollouts: the estimated probability that each trajectory resolved its task."""

    name: str = "verifier"

    @abc.abstractmethod
    def score(self, trajectories: Sequence[Trajectory], tasks: dict[str, Task] | None = None) -> list[float]:
        """One score in [0, 1] per trajectory, in order."""


class Trainer(abc.ABC):
    """Fine-tunes a model on a JSONL file of chat conversations and writes a loadable checkpoint."""

    name: str = "trainer"

    @abc.abstractmethod
    def train(self, model: str | Path, data: str | Path, output_dir: str | Path, config: dict[str, Any] | None = None) -> Path:
        """Train and return the directory of the resulting checkpoint."""


class Executor(abc.ABC):
    """Runs ``fn(request)`` for every rollout request somewhere (threads, processes, a cluster) and
    yields the results as they finish, in any order. Only the driver writes the run directory."""

    name: str = "executor"

    @abc.abstractmethod
    def map_unordered(self, fn: Callable[[Any], Any], requests: Iterable[Any]) -> Iterator[Any]:
        """Yield ``fn(r)`` for every request ``r``; an exception in ``fn`` propagates from the iterator."""

    def close(self) -> None:
        """Release workers."""
