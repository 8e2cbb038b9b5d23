"""The evaluation harness: grade a patch on a task with SWE-bench semantics.

    from swegym import harness
    result = harness.evaluate(task, patch, runtime)        # -> swegym.EvalResult
    harness.parsers.get_parser("django/django")(log)       # -> {test: status}
    harness.grade(status_map, task.FAIL_TO_PASS, task.PASS_TO_PASS)
    harness.grade_log(task.repo, full_log, task.FAIL_TO_PASS, task.PASS_TO_PASS)   # a saved log, SWE-bench's way
    writer = harness.ReportWriter(run_dir)                  # report.json + logs/ of a run directory
    writer.add(task.instance_id, result, patch); writer.flush()

Nothing here imports docker: a Runtime is passed in (or made with ``swegym.create("runtime", ...)``).
"""
from __future__ import annotations

from . import grading, ledger, logs, parsers, testspec
from .evaluate import evaluate, is_infrastructure
from .grading import FULL, NO, PARTIAL, Grade, grade
from .logs import grade_log, read_log
from .parsers import get_parser, parse_log
from .predictions import Prediction, load_predictions
from .ledger import ReportWriter, load_report, summarize
from .runner import evaluate_many
from .testspec import APPLY_COMMANDS, make_eval_spec

__all__ = [
    "evaluate", "evaluate_many", "is_infrastructure", "grade", "Grade", "FULL", "PARTIAL", "NO",
    "get_parser", "parse_log", "Prediction", "load_predictions", "ReportWriter", "load_report", "summarize",
    "APPLY_COMMANDS", "make_eval_spec", "grading", "ledger", "parsers", "testspec", "logs", "grade_log", "read_log",
]
