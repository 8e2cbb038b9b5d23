"""The data that flows between swegym's pieces.

Plain dataclasses with ``to_dict``/``from_dict`` so every record can be written as one JSON
line and read back without loss. Nothing here imports a heavy library.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

TASK_FIELDS = (
    "instance_id",
    "repo",
    "base_commit",
    "problem_statement",
    "hints_text",
    "patch",
    "test_patch",
    "FAIL_TO_PASS",
    "PASS_TO_PASS",
    "version",
    "created_at",
    "environment_setup_commit",
)


@dataclass
class Task:
    """One SWE-Gym / SWE-bench instance: a repository at a commit, an issue, and its tests.

    ``FAIL_TO_PASS``/``PASS_TO_PASS`` are always lists here, whatever the source file used.
    ``extra`` keeps any other columns of the source row so nothing is lost on a round trip.
    """

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str = ""
    hints_text: str = ""
    patch: str = ""
    test_patch: str = ""
    FAIL_TO_PASS: list[str] = field(default_factory=list)
    PASS_TO_PASS: list[str] = field(default_factory=list)
    version: str = ""
    created_at: str = ""
    environment_setup_commit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def repo_name(self) -> str:
        """``owner/name`` → ``name``."""
        return self.repo.split("/")[-1]

    def to_dict(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in TASK_FIELDS}
        if row["environment_setup_commit"] is None:
            del row["environment_setup_commit"]
        row.update(self.extra)
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Task":
        """Build from an already validated row (see :mod:`swegym.tasks` for validation)."""
        known = {k: row[k] for k in TASK_FIELDS if k in row}
        extra = {k: v for k, v in row.items() if k not in TASK_FIELDS}
        for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            if isinstance(known.get(key), str):
                known[key] = json.loads(known[key])
        return cls(**known, extra=extra)


@dataclass
class CommandResult:
    """What one shell command in a sandbox produced."""

    exit_code: int
    output: str
    timed_out: bool = False
    truncated: bool = False
    duration_s: float = 0.0


@dataclass
class ToolCall:
    """A function call as OpenAI chat messages carry it (arguments is a JSON string)."""

    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    @classmethod
    def from_openai(cls, call: dict[str, Any]) -> "ToolCall":
        fn = call.get("function") or {}
        args = fn.get("arguments")
        if not isinstance(args, str):
            args = json.dumps(args or {})
        return cls(id=call.get("id") or "", name=fn.get("name") or "", arguments=args)


@dataclass
class Usage:
    """Token counts and cost of one or more model calls (cost None when the price is unknown)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    calls: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        cost = None if self.cost is None and other.cost is None else (self.cost or 0.0) + (other.cost or 0.0)
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
            self.calls + other.calls,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


PolicyOutcome = Literal["ok", "context_window_exceeded", "error"]


@dataclass
class PolicyResponse:
    """One model reply: text, native tool calls (possibly none) and what it cost.

    ``outcome`` separates a normal reply from a context-window overflow, which scaffolds treat
    as the end of an episode rather than as an infrastructure failure.
    """

    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    outcome: PolicyOutcome = "ok"
    finish_reason: str | None = None
    raw: dict[str, Any] | None = None

    def to_message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        return msg


@dataclass
class SamplingParams:
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None


# Statuses the harness gives an evaluation (SWE-bench semantics; see swegym_harness).
EvalStatus = Literal["resolved", "unresolved", "empty_patch", "patch_apply_failed", "test_timeout", "error"]
EVAL_STATUSES: tuple[str, ...] = (
    "resolved",
    "unresolved",
    "empty_patch",
    "patch_apply_failed",
    "test_timeout",
    "error",
)


@dataclass
class EvalResult:
    """The grade of one patch on one task.

    ``status == "error"`` means infrastructure failed (daemon, OOM, missing image): it says
    nothing about the agent and is never counted against it.
    """

    instance_id: str
    status: EvalStatus
    tests: dict[str, str] = field(default_factory=dict)
    log: str = ""
    error: str | None = None
    test_duration_s: float | None = None
    duration_s: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    @property
    def is_infrastructure_error(self) -> bool:
        return self.status == "error"

    def to_dict(self, include_log: bool = False) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        row["resolved"] = self.resolved
        if not include_log:
            row.pop("log")
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "EvalResult":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclass
class Trajectory:
    """One rollout: OpenAI-style chat messages (with tool_calls), the tools schema, the patch.

    ``metadata`` has one part per owner: ``metadata["scaffold"]`` (iterations, usage, the
    scaffold's timings...) written by the scaffold, ``metadata["rollout"]`` (sample index,
    sampling, the rollout's timings...) by orchestration; see :mod:`swegym.orchestration.record`.
    ``evaluation`` is the harness result once graded.
    """

    instance_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    patch: str = ""
    run_id: str = ""
    scaffold: str = ""
    model: str = ""
    stop_reason: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] | None = None

    @property
    def resolved(self) -> bool | None:
        if self.evaluation is None:
            return None
        return self.evaluation.get("status") == "resolved"

    @property
    def status(self) -> str | None:
        return None if self.evaluation is None else self.evaluation.get("status")

    def to_dict(self) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        row["resolved"] = self.resolved
        row["status"] = self.status
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Trajectory":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})
