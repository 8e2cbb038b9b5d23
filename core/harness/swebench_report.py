"""The run report SWE-bench's harness writes, ``<model>.<run_id>.json``, from a swegym evaluation.

Why: SWE-bench users read results in that shape (leaderboard tooling, sb-cli habits). Keys, types
and rules are those of ``swebench.harness.reporting.make_run_report`` in swebench 5.0.2 (schema 2,
without the Docker-only container/image keys), from swegym's per-instance statuses:

- no prediction for a dataset instance → ``incomplete_ids``; an empty or null patch →
  ``empty_patch_ids`` (not run, not completed);
- ``resolved`` → completed + resolved; ``unresolved`` → completed + unresolved;
- ``patch_apply_failed``, ``test_timeout``, ``error`` (infrastructure) or a prediction that was
  never evaluated → ``error_ids``: SWE-bench's ``run_instance`` raises on a patch that does not
  apply and on a timeout, so it writes no instance report for them;
- ``infra_failure_ids`` / ``ambiguous_failure_ids`` / ``failure_reasons``: the same log
  signatures SWE-bench matches (advisory; the ids stay in unresolved/error).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..files import write_text_atomic

SCHEMA_VERSION = 2
COMPLETED = ("resolved", "unresolved")
TIER_ENVIRONMENT, TIER_AMBIGUOUS = "environment", "ambiguous"
# SWE-bench 5.0.2's infrastructure-failure signatures (reason, tier, pattern); first match wins.
INFRA_FAILURE_SIGNATURES: tuple[tuple[str, str, str], ...] = (
    ("browser_launch_failed", TIER_ENVIRONMENT, r"Failed to launch|Failed to connect to the bus"),
    ("display_unavailable", TIER_ENVIRONMENT, r"cannot open display|Missing X server|unable to open X display"),
    ("out_of_memory", TIER_ENVIRONMENT, r"Cannot allocate memory|OutOfMemoryError|^Killed$"),
    ("container_unavailable", TIER_ENVIRONMENT, r"Error response from daemon|Cannot connect to the Docker daemon"),
    ("network_unreachable", TIER_ENVIRONMENT, r"Could not resolve host|Temporary failure in name resolution"),
    ("missing_module", TIER_AMBIGUOUS, r"Cannot find module|MODULE_NOT_FOUND|ModuleNotFoundError"),
    ("no_tests_collected", TIER_AMBIGUOUS, r"no tests ran|collected 0 items"),
    ("tests_timed_out", TIER_AMBIGUOUS, r"Timeout error: \d+ seconds exceeded"),
)
_SIGNATURES = tuple((reason, tier, re.compile(p, re.M)) for reason, tier, p in INFRA_FAILURE_SIGNATURES)


def classify_failure(text: str) -> tuple[str, str] | None:
    """(reason, tier) of the first signature ``text`` matches, else None."""
    for reason, tier, pattern in _SIGNATURES:
        if text and pattern.search(text):
            return reason, tier
    return None


def report_filename(model: str, run_id: str) -> str:
    return f"{model.replace('/', '__')}.{run_id}.json"


def swebench_run_report(predictions: Mapping[str, Mapping[str, Any]], dataset_ids: Iterable[str],
                        instances: Mapping[str, Mapping[str, Any]],
                        failure_text: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The report dict. ``predictions``: id → SWE-bench prediction; ``dataset_ids``: the dataset's
    instances; ``instances``: report.json rows by id; ``failure_text``: log/error text per id to classify."""
    failure_text = failure_text or {}
    dataset_ids = list(dict.fromkeys(dataset_ids))
    completed, resolved, unresolved, errors, incomplete, empty = set(), set(), set(), set(), set(), set()
    for iid in dataset_ids:
        pred = predictions.get(iid)
        if pred is None:
            incomplete.add(iid)
            continue
        if pred.get("model_patch") in ("", None):
            empty.add(iid)
            continue
        status = (instances.get(iid) or {}).get("status")
        if status in COMPLETED:
            completed.add(iid)
            (resolved if status == "resolved" else unresolved).add(iid)
        else:
            errors.add(iid)
    infra, ambiguous, reasons = set(), set(), {}
    for iid in unresolved | errors:
        found = classify_failure(failure_text.get(iid, ""))
        if found:
            reasons[iid] = found[0]
            (infra if found[1] == TIER_ENVIRONMENT else ambiguous).add(iid)
    return {
        "total_instances": len(dataset_ids),
        "submitted_instances": len(predictions),
        "completed_instances": len(completed),
        "resolved_instances": len(resolved),
        "unresolved_instances": len(unresolved),
        "infra_failure_instances": len(infra),
        "ambiguous_failure_instances": len(ambiguous),
        "empty_patch_instances": len(empty),
        "error_instances": len(errors),
        "completed_ids": sorted(completed),
        "incomplete_ids": sorted(incomplete),
        "empty_patch_ids": sorted(empty),
        "submitted_ids": sorted(predictions),
        "resolved_ids": sorted(resolved),
        "unresolved_ids": sorted(unresolved),
        "infra_failure_ids": sorted(infra),
        "ambiguous_failure_ids": sorted(ambiguous),
        "failure_reasons": dict(sorted(reasons.items())),
        "error_ids": sorted(errors),
        "schema_version": SCHEMA_VERSION,
    }


def write_swebench_report(report_dir: str | Path, run_id: str, predictions: Mapping[str, Mapping[str, Any]],
                          dataset_ids: Iterable[str], run_dir: str | Path) -> Path:
    """Build the report from ``run_dir``'s report.json and logs; write it as ``<model>.<run_id>.json``."""
    from .ledger import load_report, safe_name

    instances = load_report(run_dir)["instances"]
    texts = {}
    for iid, row in instances.items():
        log = Path(run_dir) / "logs" / safe_name(iid) / "test_output.txt"
        text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        if row.get("status") == "test_timeout":  # what SWE-bench appends to a timed-out test output
            text += f"\n\nTimeout error: {int(row.get('test_duration_s') or 0)} seconds exceeded."
        texts[iid] = text + "\n" + str(row.get("error") or "")
    report = swebench_run_report(predictions, dataset_ids, instances, texts)
    model = next(iter(predictions.values()), {}).get("model_name_or_path") or "swegym"
    path = Path(report_dir) / report_filename(str(model), run_id)
    write_text_atomic(path, json.dumps(report, indent=4) + "\n")
    return path


__all__ = ["swebench_run_report", "write_swebench_report", "report_filename", "classify_failure",
           "INFRA_FAILURE_SIGNATURES", "SCHEMA_VERSION"]
