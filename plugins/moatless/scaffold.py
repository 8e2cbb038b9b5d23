"""The MoatlessTools scaffold: the v0.0.2 state machine driving a Policy inside a Sandbox.

Each state asks the model for one structured action (native tool call or a JSON object). An
invalid action goes back to the model with the reason (at most ``max_retries`` times in a state
visit); after that the rollout ends with ``stop_reason="invalid_response"``. Limits: transitions,
rejected edits, tokens and cost. The patch is ``sandbox.diff()``, like every scaffold's.
"""
from __future__ import annotations

import copy
import logging
import time
import traceback
from typing import Any

from swegym import (
    InfrastructureError,
    Policy,
    PolicyResponse,
    SamplingParams,
    Sandbox,
    Scaffold,
    SwegymError,
    Task,
    Trajectory,
    Usage,
    prompts,
)

from .actions import ACTIONS, ActionError, parse_action
from .file_context import FileContext
from .index import CodeIndex, index_for_sandbox
from .states import FINISHED, REJECTED, STATES, Episode, Outcome, State
from .trajectory import TransitionRecord, conversation

log = logging.getLogger(__name__)


class _Stop(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason, self.detail = reason, detail


class MoatlessScaffold(Scaffold):
    """SearchCode → IdentifyCode → DecideRelevance → PlanToCode ⇄ (ClarifyCodeChange →) EditCode."""

    name = "moatless"

    def __init__(
        self,
        *,
        max_transitions: int = 25,
        max_retries: int = 2,
        max_rejections: int = 2,
        max_tokens: int | None = 2_000_000,
        max_cost: float | None = None,
        embedder: str = "auto",
        function_calling: str = "auto",
        max_search_results: int = 25,
        max_prompt_file_tokens: int = 4000,
        max_tokens_in_edit_prompt: int = 500,
        lint: bool = True,
        use_index_cache: bool = True,
        index: CodeIndex | None = None,
        **unknown: Any,
    ):
        if unknown:
            raise SwegymError(f"moatless scaffold: unknown option(s) {', '.join(sorted(unknown))}")
        if function_calling not in ("auto", "native", "json"):
            raise SwegymError(f"moatless scaffold: function_calling must be auto, native or json, got {function_calling!r}")
        if max_transitions < 1 or max_retries < 0:
            raise SwegymError("moatless scaffold: max_transitions must be ≥ 1 and max_retries ≥ 0")
        self.max_transitions = max_transitions
        self.max_retries = max_retries
        self.max_rejections = max_rejections
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.embedder = embedder
        self.function_calling = function_calling
        self.max_search_results = max_search_results
        self.max_prompt_file_tokens = max_prompt_file_tokens
        self.max_tokens_in_edit_prompt = max_tokens_in_edit_prompt
        self.lint = lint
        self.use_index_cache = use_index_cache
        self._index = index

    # -- setup ----------------------------------------------------------------------------
    def _episode(self, task: Task, sandbox: Sandbox, index: CodeIndex, json_mode: bool) -> Episode:
        repo_dir = getattr(sandbox, "repo_dir", "/testbed").rstrip("/")
        modified: set[str] = set()

        def read_current(path: str) -> str | None:
            if path not in index.files:
                return None  # only files known to exist are read
            if path in modified:
                return sandbox.read_file(f"{repo_dir}/{path}")
            return index.files[path]

        def write_file(path: str, content: str) -> None:
            sandbox.write_file(f"{repo_dir}/{path}", content)
            modified.add(path)

        return Episode(
            issue=task.problem_statement.strip(), index=index, file_context=FileContext(read_current),
            write_file=write_file, diff=lambda: sandbox.diff(), read_current=read_current, json_mode=json_mode,
            max_search_results=self.max_search_results, max_prompt_file_tokens=self.max_prompt_file_tokens,
            max_tokens_in_edit_prompt=self.max_tokens_in_edit_prompt, lint=self.lint,
        )

    # -- the loop -------------------------------------------------------------------------
    def run(self, task: Task, sandbox: Sandbox, policy: Policy, sampling: SamplingParams | None = None) -> Trajectory:
        started = time.monotonic()
        json_mode = self.function_calling == "json" or (self.function_calling == "auto" and not policy.supports_function_calling)
        if self.function_calling == "native" and not policy.supports_function_calling:
            raise SwegymError(f"policy {getattr(policy, 'model', policy)!r} has no native function calling; "
                              f"use function_calling='json' or 'auto'")
        index = self._index or index_for_sandbox(sandbox, task, self.embedder, use_cache=self.use_index_cache)
        index_s = time.monotonic() - started
        ep = self._episode(task, sandbox, index, json_mode)
        records: list[TransitionRecord] = []
        calls: list[dict[str, Any]] = []
        total = Usage()
        stop_reason, stop_detail = "", ""
        state: State = STATES["SearchCode"]()
        try:
            while True:
                if len(records) >= self.max_transitions:
                    raise _Stop("max_transitions", f"reached the limit of {self.max_transitions} transitions")
                record = TransitionRecord(state.name)
                records.append(record)
                outcome = self._visit(state, ep, policy, sampling, record, calls)
                total = total + record.usage
                if outcome.next_state == FINISHED:
                    stop_reason, stop_detail = "finished", outcome.output.get("message", "")
                    break
                if outcome.next_state == REJECTED:
                    stop_reason, stop_detail = "rejected", outcome.output.get("message", "")
                    break
                if ep.rejections > self.max_rejections:
                    raise _Stop("rejected", f"more than {self.max_rejections} rejected change requests")
                state = STATES[outcome.next_state](**outcome.output)
        except _Stop as stop:
            stop_reason, stop_detail = stop.reason, stop.detail
            total = sum((r.usage for r in records), Usage())
        except (InfrastructureError, SwegymError):
            raise
        except Exception as exc:  # a scaffold bug must end this rollout, not the whole run
            log.exception("moatless rollout of %s failed", task.instance_id)
            stop_reason, stop_detail = "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            total = sum((r.usage for r in records), Usage())
        patch = sandbox.diff()
        specs = [spec.tool() for spec in ACTIONS.values()]
        metadata = {
            "instance_id": task.instance_id,
            "scaffold": self.name,
            "model": getattr(policy, "model", ""),
            "sampling": copy.deepcopy(sampling.__dict__) if sampling else None,
            "seed": sampling.seed if sampling else None,
            "iterations": len(records),
            "stop_reason": stop_reason,
            "stop_detail": stop_detail,
            "function_calling": "json" if json_mode else "native",
            "usage": {"prompt_tokens": total.prompt_tokens, "completion_tokens": total.completion_tokens,
                      "calls": total.calls, "cost": total.cost},
            "timings": {"index_s": round(index_s, 3), "total_s": round(time.monotonic() - started, 3)},
            "index": {"embedder": index.embedder.name, "files": len(index.files), "spans": len(index.spans)},
            "transitions": [r.to_dict() for r in records],
            "calls": calls,
            "file_context": ep.file_context.to_metadata(),
        }
        return Trajectory(
            instance_id=task.instance_id, messages=conversation(calls), tools=specs, patch=patch,
            scaffold=self.name, model=getattr(policy, "model", ""), stop_reason=stop_reason, metadata=metadata,
        )

    def _budget_check(self, spent: Usage) -> None:
        if self.max_tokens is not None and spent.total_tokens >= self.max_tokens:
            raise _Stop("budget_exceeded", f"used {spent.total_tokens} tokens (limit {self.max_tokens})")
        if self.max_cost is not None and spent.cost is not None and spent.cost >= self.max_cost:
            raise _Stop("budget_exceeded", f"cost ${spent.cost:.4f} (limit ${self.max_cost:.4f})")

    def _visit(self, state: State, ep: Episode, policy: Policy, sampling: SamplingParams | None,
               record: TransitionRecord, calls: list[dict[str, Any]]) -> Outcome:
        """One state visit: ask, validate, retry with feedback, return the transition."""
        spec = state.action
        tools = None if ep.json_mode else [spec.tool()]
        messages = state.messages(ep)
        spent_before = sum((_usage(c) for c in calls), Usage())
        while True:
            self._budget_check(spent_before + record.usage)
            response: PolicyResponse = policy.complete(copy.deepcopy(messages), tools=tools, sampling=sampling)
            record.usage = record.usage + _with_call(response.usage)
            if response.outcome == "context_window_exceeded":
                raise _Stop("context_window_exceeded", f"the prompt of {state.name} exceeds the model's context window")
            if response.outcome == "error":
                raise InfrastructureError(f"the policy failed in {state.name}: {response.content[:300]}")
            completion = response.to_message()
            call = {"state": state.name, "messages": copy.deepcopy(messages), "completion": completion,
                    "valid": True, "usage": _usage_dict(response.usage)}
            calls.append(call)
            try:
                args = parse_action(response, spec)
                record.action = args
                outcome = state.handle(args, ep)
            except ActionError as exc:
                outcome = Outcome.retry(f"Invalid {spec.name} action: {exc}")
            if outcome.next_state is not None:
                record.next_state = outcome.next_state
                record.output = _jsonable(outcome.output)
                return outcome
            call["valid"] = False
            record.errors.append(outcome.retry_message or "")
            record.retries += 1
            if record.retries > self.max_retries:
                raise _Stop("invalid_response", f"{state.name}: {outcome.retry_message}")
            feedback = prompts.render("moatless/retry.j2", error=outcome.retry_message, json_mode=ep.json_mode,
                                      action_name=spec.name)
            messages = messages + [completion]
            if response.tool_calls:
                messages += [{"role": "tool", "tool_call_id": c.id, "name": c.name, "content": feedback}
                             for c in response.tool_calls]
            else:
                messages.append({"role": "user", "content": feedback})


def _with_call(usage: Usage) -> Usage:
    return Usage(usage.prompt_tokens, usage.completion_tokens, usage.cost, max(usage.calls, 1))


def _usage_dict(usage: Usage) -> dict[str, Any]:
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "cost": usage.cost}


def _usage(call: dict[str, Any]) -> Usage:
    u = call.get("usage") or {}
    return Usage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0), u.get("cost"), 1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
