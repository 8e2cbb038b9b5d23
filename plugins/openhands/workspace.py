"""The SWE-Gym workspace: the repository at ``/workspace/{owner}__{name}__{version}``, and its patch."""
from __future__ import annotations

import shlex

from swegym import InfrastructureError, Sandbox, Task
from swegym.errors import RepositoryError

WORKSPACE_ROOT = "/workspace"


def workspace_name(task: Task) -> str:
    """``python/mypy`` at version ``1.6`` → ``python__mypy__1.6`` (SWE-Gym's instruction text)."""
    return f"{task.repo.replace('/', '__')}__{task.version}"


def workspace_dir(task: Task) -> str:
    return f"{WORKSPACE_ROOT}/{workspace_name(task)}"


def _checked(sandbox: Sandbox, command: str, what: str, timeout: float = 600.0) -> str:
    res = sandbox.run(command, timeout=timeout, output_limit=200_000)
    if res.timed_out or res.exit_code != 0:
        raise InfrastructureError(f"{what} failed in the sandbox (exit {res.exit_code}): {res.output[-2000:]}")
    return res.output


def prepare(sandbox: Sandbox, task: Task, mode: str = "symlink") -> str:
    """Put the repository at the workspace path and ``cd`` there (the agent's starting point).

    ``mode="symlink"`` (default) is what the SWE-Gym fork's ``instance_swe_entry.sh`` does: clear
    ``/workspace`` and ``ln -s /testbed /workspace/<name>``, so editable installs and console
    scripts run the edited code, and ``find`` (the editor's first ``view``) does not descend the
    link. ``"copy"`` copies ``sandbox.repo_dir`` instead (a swegym option, not upstream).
    """
    target = workspace_dir(task)
    src = shlex.quote(sandbox.repo_dir)
    dst = shlex.quote(target)
    op = f"cp -a {src} {dst}" if mode == "copy" else f"ln -s {src} {dst}"
    _checked(sandbox, f"mkdir -p {WORKSPACE_ROOT} && rm -rf {WORKSPACE_ROOT}/* {dst} && {op}", "creating the workspace")
    _checked(sandbox, f"cd {dst}", "entering the workspace")
    return target


class PatchError(Exception):
    """git could not produce a diff in the workspace (e.g. the agent removed ``.git``): the agent's doing."""


def final_patch(sandbox: Sandbox, task: Task, directory: str | None = None) -> str:
    """The workspace's changes against base_commit (``Sandbox.diff``: new files in, binary files out).

    A failing git command raises :class:`PatchError`; a failing sandbox raises InfrastructureError.
    """
    try:
        return sandbox.diff(directory or workspace_dir(task))
    except RepositoryError as exc:
        raise PatchError(str(exc)) from exc
