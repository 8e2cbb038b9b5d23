"""Lint an edit: report only the errors the edit introduced, never ones the file already had.

Uses pyflakes when installed (undefined names, syntax errors, …), else Python's own compiler
(syntax errors only). Errors are compared by (code, message) without line numbers, because an
edit shifts the lines of every error below it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LintError:
    code: str
    message: str
    line: int

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "line": self.line}


# pyflakes findings that are style, not errors: an edit that leaves an unused import is fine
_IGNORED = {"UnusedImport", "UnusedVariable", "RedefinedWhileUnused", "ImportStarUsed", "ImportStarUsage",
            "ImportShadowedByLoopVar", "UnusedAnnotation", "UnusedIndirectAssignment"}


def lint(source: str, file_path: str = "<file>") -> list[LintError]:
    try:
        from pyflakes import api as flakes_api
        from pyflakes import reporter as flakes_reporter
    except ImportError:
        return _compile_errors(source, file_path)

    errors: list[LintError] = []

    class _Collect(flakes_reporter.Reporter):
        def __init__(self) -> None:
            pass

        def unexpectedError(self, filename, msg):  # noqa: N802 - pyflakes API
            errors.append(LintError("E999", str(msg), 0))

        def syntaxError(self, filename, msg, lineno, offset, text):  # noqa: N802
            errors.append(LintError("E999", f"SyntaxError: {msg}", int(lineno or 0)))

        def flake(self, message):
            name = type(message).__name__
            if name not in _IGNORED:
                errors.append(LintError(name, message.message % message.message_args, int(message.lineno)))

    flakes_api.check(source, file_path, _Collect())
    return errors


def _compile_errors(source: str, file_path: str) -> list[LintError]:
    try:
        compile(source, file_path, "exec")
    except SyntaxError as exc:
        return [LintError("E999", f"SyntaxError: {exc.msg}", int(exc.lineno or 0))]
    return []


def introduced_errors(before: str, after: str, file_path: str = "<file>") -> list[LintError]:
    """Errors in ``after`` whose (code, message) did not occur in ``before``."""
    old = {(e.code, e.message) for e in lint(before, file_path)}
    return [e for e in lint(after, file_path) if (e.code, e.message) not in old]
