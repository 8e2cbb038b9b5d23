"""``mine-report.json``: every candidate's outcome, rewritten whole after each decision.

It is also the resume state: a rerun skips candidates whose decision is ``kept`` or ``dropped``
and retries those that hit an infrastructure ``error``.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from ..files import write_json_atomic

DECIDED = ("kept", "dropped")


class MineReport:
    def __init__(self, path: str | Path, repo: str) -> None:
        self.path = Path(path)
        self.repo = repo
        self._lock = threading.Lock()
        self.candidates: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.candidates = dict(data.get("candidates") or {})

    def decided(self, instance_id: str) -> bool:
        return (self.candidates.get(instance_id) or {}).get("decision") in DECIDED

    def record(self, instance_id: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.candidates[instance_id] = entry
            self.flush()

    def summary(self) -> dict[str, Any]:
        decisions = Counter(e.get("decision") for e in self.candidates.values())
        reasons = Counter(_reason_kind(e.get("reason") or "") for e in self.candidates.values()
                          if e.get("decision") != "kept")
        build = sum(e.get("build_s") or 0.0 for e in self.candidates.values())
        test = sum(e.get("test_s") or 0.0 for e in self.candidates.values())
        return {"candidates": len(self.candidates), "kept": decisions.get("kept", 0),
                "dropped": decisions.get("dropped", 0), "error": decisions.get("error", 0),
                "drop_reasons": dict(reasons), "build_s": round(build, 1), "test_s": round(test, 1)}

    def flush(self) -> None:
        write_json_atomic(self.path, {"repo": self.repo, "summary": self.summary(), "candidates": self.candidates})


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0].strip() or "unknown"


__all__ = ["MineReport", "DECIDED"]
