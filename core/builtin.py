"""The plugin core itself contributes: the ``demo`` task set and the ``local`` executor.

Listed first in ``swegym.plugins.BUILTIN_PLUGINS``.
"""
from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl
def register_datasets(register):
    from .demo import iter_rows

    register("demo", lambda: list(iter_rows()), description="Small offline tasks with real bugs (bundled).")


@hookimpl
def register_executors(register):
    from .orchestration.executors import LocalExecutor

    register("local", LocalExecutor, description="Rollouts in threads or processes on this machine.")
