"""ReplayPolicy: returns a recorded trajectory's assistant messages, one per call, exactly.

Why: reproducing a run (or a test) without a model. Rows may be swegym ``Trajectory.to_dict()``
records or SWE-Gym's released rows, whose columnar origin turns absent keys into ``null``; those
nulls are read as "absent". After the last recorded turn the policy answers with an empty
message and ``finish_reason="replay_exhausted"`` so the scaffold ends the episode.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from swegym import DataError, Policy, PolicyResponse, SamplingParams, SwegymError, ToolCall, Trajectory, Usage
from swegym.jsonl import iter_jsonl

EXHAUSTED = "replay_exhausted"
_cache: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file, or of a JSON file holding one object or a list; parsed once per file version."""
    p = Path(path)
    if not p.is_file():
        raise SwegymError(f"replay policy: trajectory file {p} does not exist; pass path= a .jsonl/.json file "
                          f"written by `swegym rollout` or a SWE-Gym trajectories file")
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    text = p.read_text(encoding="utf-8")
    rows: list[Any]
    if p.suffix.lower() == ".jsonl":
        rows = [row for _, row in iter_jsonl(p)]
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON ({exc.msg} at line {exc.lineno})", path=str(p)) from None
        rows = data if isinstance(data, list) else [data]
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
            raise DataError("a trajectory row needs a `messages` list", path=str(p), row=n, field="messages")
    with _cache_lock:
        _cache[key] = rows
    return rows


def _text(content: Any) -> str:
    """Message content as text: None → "", a list of content parts → their text joined."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "".join(part.get("text") or "" for part in content if isinstance(part, dict))
    return str(content)


def _usage(msg: dict[str, Any]) -> Usage:
    recorded = msg.get("usage") or {}
    return Usage(int(recorded.get("prompt_tokens") or 0), int(recorded.get("completion_tokens") or 0), 0.0, calls=1)


def to_response(msg: dict[str, Any]) -> PolicyResponse:
    """One recorded assistant message as the PolicyResponse that would have produced it."""
    calls = [ToolCall.from_openai(c) for c in (msg.get("tool_calls") or []) if c]
    return PolicyResponse(content=_text(msg.get("content")), tool_calls=calls, usage=_usage(msg), outcome="ok",
                          finish_reason="tool_calls" if calls else "stop")


class ReplayPolicy(Policy):
    """Plays back one trajectory, chosen by ``index`` (row position) and/or ``instance_id``.

    With ``instance_id`` the rows of that instance are considered and ``index`` (default 0) picks
    among them; without it ``index`` is the row position in the file.
    """

    name = "replay"

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        index: int | None = None,
        instance_id: str | None = None,
        trajectory: Trajectory | dict[str, Any] | list[dict[str, Any]] | None = None,
        model: str | None = None,
        function_calling: bool | None = None,
        sampling: SamplingParams | dict[str, Any] | None = None,  # accepted for a uniform policy API; unused
    ) -> None:
        row = self._select(path, index, instance_id, trajectory)
        self.instance_id: str | None = row.get("instance_id") or instance_id
        self.row_index = index
        self._turns = [m for m in row["messages"] if isinstance(m, dict) and m.get("role") == "assistant"]
        self._responses = [to_response(m) for m in self._turns]
        meta_model = row.get("model") or (row.get("metadata") or {}).get("model")
        self.model = model or (f"replay:{meta_model}" if meta_model else "replay")
        self._fc = (any(r.tool_calls for r in self._responses) if function_calling is None else bool(function_calling))
        self._cursor = 0
        self._lock = threading.Lock()

    @staticmethod
    def _select(path: str | Path | None, index: int | None, instance_id: str | None,
                trajectory: Any) -> dict[str, Any]:
        if trajectory is not None:
            if isinstance(trajectory, Trajectory):
                return trajectory.to_dict()
            if isinstance(trajectory, list):
                return {"messages": trajectory}
            if isinstance(trajectory, dict) and isinstance(trajectory.get("messages"), list):
                return trajectory
            raise SwegymError("replay policy: trajectory= must be a Trajectory, a row dict with `messages`, "
                              "or a list of chat messages")
        if path is None:
            raise SwegymError("replay policy: give path= (a .jsonl/.json trajectories file) or trajectory=")
        path = os.fspath(path)
        rows = load_rows(path)
        if instance_id is not None:
            matches = [r for r in rows if r.get("instance_id") == instance_id]
            if not matches:
                known = sorted({str(r.get("instance_id")) for r in rows})
                shown = ", ".join(known[:10]) + (" …" if len(known) > 10 else "")
                raise SwegymError(f"replay policy: no trajectory for instance {instance_id!r} in {path} "
                                  f"({len(rows)} rows; instances: {shown})")
            rows = matches
        i = 0 if index is None else int(index)
        if not -len(rows) <= i < len(rows):
            raise SwegymError(f"replay policy: index {i} is out of range: {path} has {len(rows)} "
                              f"{'matching ' if instance_id is not None else ''}row(s)")
        return rows[i]

    @property
    def supports_function_calling(self) -> bool:
        return self._fc

    @property
    def remaining(self) -> int:
        return len(self._responses) - self._cursor

    @property
    def assistant_messages(self) -> list[dict[str, Any]]:
        """The recorded assistant messages, in the order they are replayed."""
        return list(self._turns)

    def reset(self) -> None:
        with self._lock:
            self._cursor = 0

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        sampling: SamplingParams | None = None,
    ) -> PolicyResponse:
        """The next recorded assistant turn (ignores the input), then ``replay_exhausted``."""
        with self._lock:
            if self._cursor >= len(self._responses):
                return PolicyResponse(content="", usage=Usage(0, 0, 0.0, calls=1), finish_reason=EXHAUSTED)
            recorded = self._responses[self._cursor]
            self._cursor += 1
        return PolicyResponse(content=recorded.content, tool_calls=[ToolCall(c.id, c.name, c.arguments)
                                                                    for c in recorded.tool_calls],
                              usage=Usage(recorded.usage.prompt_tokens, recorded.usage.completion_tokens, 0.0, 1),
                              outcome="ok", finish_reason=recorded.finish_reason)

    def __repr__(self) -> str:
        return f"ReplayPolicy(instance_id={self.instance_id!r}, turns={len(self._responses)}, model={self.model!r})"
