"""Errors that reach users. Each message says what went wrong, where, and how to fix it."""
from __future__ import annotations


class SwegymError(Exception):
    """A usage or data error: bad flags, a malformed file, an unknown name. CLI exit code 2."""

    exit_code = 2


class DataError(SwegymError):
    """A malformed input file; the message names the file, row and field."""

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None, field: str | None = None):
        where = []
        if path is not None:
            where.append(str(path))
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        self.path, self.row, self.field = path, row, field
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class InfrastructureError(Exception):
    """Something outside the agent failed (daemon, image, model API). Retried; never an agent failure."""

    def __init__(self, message: str, *, cause: str | None = None):
        super().__init__(message)
        self.cause = cause or message


class RepositoryError(Exception):
    """git failed inside a working sandbox (the agent removed ``.git``, say): the agent's doing."""


class SandboxKilled(InfrastructureError):
    """The sandbox died or stopped answering because of what ran *inside* it.

    The agent's commands (``kill -9 -1``, ``kill -9 $$``, SIGSTOP on everything) or the patch's
    tests (exhausting the sandbox's memory, killing their shell) did it, while the Docker daemon
    answers and nobody outside touched the container. That is the agent's outcome (``unresolved``
    with ``reason``), not an infrastructure error: counting it as one would let an agent turn its
    own failure into a retried, excluded ``error`` (reward gaming). It subclasses
    InfrastructureError only so that scaffolds stop the episode the same way; the harness and the
    driver check for it first.
    """

    def __init__(self, message: str, *, reason: str = "sandbox_killed", cause: str | None = None):
        super().__init__(message, cause=cause)
        self.reason = reason
