"""The SWE-Gym workspace: the repository at ``/workspace/{owner}__{name}__{version}``, and its patch."""
from __future__ import annotations

import shlex
import uuid

from swegym import InfrastructureError, Sandbox, Task

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
    """``git add -A`` then ``git diff --cached <base_commit>``, binary files left out.

    Written to a file and read back so a large patch is never clipped by the output limit.
    A failing git command raises :class:`PatchError`; a failing sandbox raises InfrastructureError.
    """
    where = shlex.quote(directory or workspace_dir(task))
    out = f"/tmp/swegym-patch-{uuid.uuid4().hex[:8]}.diff"
    res = sandbox.run(
        f"(cd {where} && git add -A && git diff --no-color --cached {shlex.quote(task.base_commit)} > {out})",
        timeout=600,
        output_limit=20_000,
    )
    if res.timed_out or res.exit_code != 0:
        raise PatchError(f"git diff in {directory or workspace_dir(task)} failed (exit {res.exit_code}): {res.output[-1000:]}")
    try:
        text = sandbox.read_file(out)
    finally:
        sandbox.run(f"rm -f {out}", timeout=30)
    return remove_binary_diffs(text)


def remove_binary_diffs(patch: str) -> str:
    """Drop every file section git marks as binary (``Binary files … differ`` / ``GIT binary patch``)."""
    if not patch:
        return patch
    sections: list[str] = []
    current: list[str] = []
    for line in patch.splitlines(keepends=True):
        if line.startswith("diff --git ") and current:
            sections.append("".join(current))
            current = []
        current.append(line)
    if current:
        sections.append("".join(current))
    kept = [s for s in sections if not _is_binary(s)]
    return "".join(kept)


def _is_binary(section: str) -> bool:
    head = section.split("\n@@", 1)[0]
    return "\nGIT binary patch" in head or ("\nBinary files " in head and " differ" in head)
