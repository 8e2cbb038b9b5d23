"""The plugin core itself contributes: the ``demo`` task set and the ``local`` executor.

Listed first in ``swegym.plugins.BUILTIN_PLUGINS``.
"""
from __future__ import annotations

from .hookspecs import hookimpl


def create_executor(**options):
    """Rollouts in threads (default) or processes on this machine."""
    from .orchestration.executors import LocalExecutor, LocalOptions

    return LocalExecutor(**LocalOptions.from_dict(options).kwargs())


@hookimpl
def register_datasets(register):
    from .demo import iter_rows

    register("demo", lambda: list(iter_rows()), description="Small offline tasks with real bugs (bundled).")


@hookimpl
def register_executors(register):
    from .orchestration.executors import LocalOptions

    register("local", create_executor, options=LocalOptions,
             description="Rollouts in threads or processes on this machine.")


@hookimpl
def add_cli_options(group):
    group.add("--processes", kind="executor", component="local", key="mode", is_flag=True, default=None,
              flag_value="processes", help="local executor: processes instead of threads.")
