"""What to run to evaluate a task: patch-apply fallbacks, test files, and the test command.

Why: SWE-bench's results depend on these exact steps (the order of patch fallbacks, which files
are reset before the test patch, which directives follow the test command), so they are
reproduced here as plain functions of the task, easy to test without a container.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..types import Task

#: Tried in order on the model patch; the first that exits 0 wins (SWE-bench's fallbacks).
APPLY_COMMANDS: tuple[str, ...] = (
    "git apply --verbose",
    "git apply --verbose --reject",
    "patch --batch --fuzz=5 -p1 -i",
)
#: Files a test patch may touch that are data, not tests to pass on the command line.
NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml")
DEFAULT_TEST_CMD = "pytest -rA"

_DIFF_TARGET = re.compile(r"diff --git a/.* b/(.*)")
_MODIFIED_FILE = re.compile(r"^--- a/(.*)$", re.M)
_MYPY_CASE = re.compile(r"\[case ([^\]]+)\]")


def patch_files(patch: str) -> list[str]:
    """Every file a diff touches (``b/`` side), in order, without duplicates."""
    return list(dict.fromkeys(m.strip() for m in _DIFF_TARGET.findall(patch)))


def modified_files(patch: str) -> list[str]:
    """Files that exist before ``patch`` (``--- a/`` side): these are reset to base_commit before it applies."""
    return list(dict.fromkeys(m.strip() for m in _MODIFIED_FILE.findall(patch)))


def mypy_cases(test_patch: str) -> list[str]:
    """mypy's data-driven tests are selected by case name: ``[case testFoo]`` lines in ``*.test`` files."""
    return list(dict.fromkeys(_MYPY_CASE.findall(test_patch)))


def directives_for(task: Task) -> list[str]:
    """Arguments appended to the test command (SWE-bench ``get_test_directives`` + SWE-Gym's mypy rule)."""
    if task.repo.lower() == "python/mypy":
        cases = mypy_cases(task.test_patch)
        return [shlex.quote(" or ".join(cases))] if cases else []
    files = [f for f in patch_files(task.test_patch) if not f.endswith(NON_TEST_EXTS)]
    if task.repo == "django/django":
        out = []
        for f in files:
            f = f[: -len(".py")] if f.endswith(".py") else f
            f = f[len("tests/"):] if f.startswith("tests/") else f
            out.append(f.replace("/", "."))
        files = out
    return [shlex.quote(f) for f in files]


@dataclass
class EvalSpec:
    """The shell steps of one evaluation, before and after the model patch."""

    test_cmd: str
    directives: list[str]
    reset_files: list[str]
    eval_commands: list[str]
    parser: str | None = None

    @property
    def test_command(self) -> str:
        return " ".join([self.test_cmd, *self.directives])

    def reset_command(self, base_commit: str) -> str | None:
        if not self.reset_files:
            return None
        return f"git checkout {shlex.quote(base_commit)} -- " + " ".join(shlex.quote(f) for f in self.reset_files)


def _env_spec(task: Task, spec_file=None):
    """The repository/version spec from :mod:`swegym.specs` (``spec_file`` adds/overrides repositories)."""
    try:
        from .. import specs  # type: ignore[attr-defined]
    except ImportError:
        return None
    get_spec = getattr(specs, "get_spec", None)
    if get_spec is None:
        return None
    return get_spec(task.repo, task.version, spec_file) if spec_file else get_spec(task.repo, task.version)


def _field(spec, name: str, default=None):
    if spec is None:
        return default
    if isinstance(spec, dict):
        return spec.get(name, default)
    return getattr(spec, name, default)


def make_eval_spec(task: Task, test_cmd: str | None = None, spec_file=None) -> EvalSpec:
    """Build the evaluation steps for ``task``; ``test_cmd`` (or ``task.extra['test_cmd']``) overrides the spec table."""
    spec = None if (test_cmd or task.extra.get("test_cmd")) else _env_spec(task, spec_file)
    cmd = test_cmd or task.extra.get("test_cmd") or _field(spec, "test_cmd") or DEFAULT_TEST_CMD
    if isinstance(cmd, list):  # some SWE-bench specs give a list of commands
        cmd = " && ".join(cmd)
    eval_commands = list(_field(spec, "eval_commands", None) or [])
    return EvalSpec(
        test_cmd=str(cmd).strip(),
        directives=directives_for(task),
        reset_files=modified_files(task.test_patch),
        eval_commands=eval_commands,
        parser=_field(spec, "log_parser", None),
    )


__all__ = [
    "APPLY_COMMANDS", "NON_TEST_EXTS", "DEFAULT_TEST_CMD", "EvalSpec", "make_eval_spec",
    "patch_files", "modified_files", "mypy_cases", "directives_for",
]
