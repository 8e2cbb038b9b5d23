"""Lint an edit as the fork does: pylint's E/F messages the edit introduced (optional in swegym).

Why: the fork (moatless/verify/lint.py, edit/edit.py) runs pylint on the file before and after
each edit and shows the plan state the new E*/F* messages, compared by (code, message).
swegym keeps this as an option, off by default (``lint=False``), because it runs pylint on the
host on a copy of the file, not inside the task's environment, so import errors and
library-dependent findings can differ from what pylint in the original repository would say.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LintError:
    code: str
    message: str
    line: int

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "line": self.line}


def run_pylint(source: str, file_path: str) -> list[LintError]:
    """pylint's E/F messages for ``source`` saved as ``file_path`` in a scratch folder."""
    try:
        from astroid import MANAGER
        from pylint.lint import Run
        from pylint.testutils import MinimalTestReporter
    except ImportError as exc:  # the moatless extra is not installed
        raise RuntimeError("lint=True needs pylint (pip install 'swegym[moatless]')") from exc
    with tempfile.TemporaryDirectory(prefix="swegym-lint-") as tmp:
        path = Path(tmp) / file_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        MANAGER.astroid_cache.clear()
        results = Run([str(path)], exit=False, reporter=MinimalTestReporter())
        return [LintError(m.msg_id, m.msg, m.line) for m in results.linter.reporter.messages
                if m.msg_id[0] in ("E", "F")]


def introduced_errors(before: str, after: str, file_path: str) -> list[LintError]:
    """Errors in ``after`` whose (code, message) did not occur in ``before`` (edit.py's rule)."""
    old = {(e.code, e.message) for e in run_pylint(before, file_path)}
    return [e for e in run_pylint(after, file_path) if (e.code, e.message) not in old]


def format_errors(errors: list[LintError]) -> str:
    """The plan prompt's lint block (edit/plan.py to_message)."""
    lint_str = "".join(f" * {e.code}: {e.message} (line {e.line})\n" for e in errors)
    if not lint_str:
        return ""
    return f"\n\nThe following lint errors was introduced after this change:\n<lint_errors>\n{lint_str}\n</lint_errors>"
