"""The Moatless scaffold SWE-Gym ran: the fork's AgenticLoop (loop.py) driving a Policy in a Sandbox.

One state visit = one or more model calls. A reply that does not parse as the state's action is
re-asked the way instructor's JSON mode does (``parse_attempts`` calls in all, then the rollout
ends: the fork raised there). A parsed action the state refuses is a retry with the state's
feedback; more than ``max_retries`` in a row end the rollout as rejected (loop.py). Limits: 25
transitions, 8 visits of PlanToCode / EditCode, and the fork's $1 cost cap priced at its
reference prices (so a token budget for any model). Infrastructure failures raise; they are never
an agent outcome. The patch is ``sandbox.diff()``, like every scaffold's.
"""
from __future__ import annotations

import copy
import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from swegym import (
    InfrastructureError,
    Policy,
    SamplingParams,
    Sandbox,
    Scaffold,
    SwegymError,
    Task,
    Trajectory,
    Usage,
)

from .fork_actions import parse_reply, reask_message
from .code_index import CodeIndex, index_for_sandbox, list_repo_files, sandbox_reader
from .messages import completion_messages
from .settings import MoatlessSettings
from .states import FINISHED, REJECTED, STATES, TRANSITIONS, Response, State
from .trajectory import conversation
from .workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class ActionRecord:
    action: Any  # the parsed action (pydantic model) or the reply text (EditCode)
    retry_message: Optional[str] = None
    cost: float = 0.0


@dataclass
class Visit:
    state: State
    actions: list[ActionRecord] = field(default_factory=list)
    trigger: Optional[str] = None
    usage: Usage = field(default_factory=Usage)


class _End(Exception):
    """The rollout ends with an agent outcome (not an infrastructure failure)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason, self.detail = reason, detail


@dataclass
class Run:
    """One rollout's shared state: what the fork keeps in its loop, trajectory and workspace."""

    issue: str
    workspace: Workspace
    settings: MoatlessSettings
    json_mode: bool = True
    visits: list[Visit] = field(default_factory=list)

    @property
    def current(self) -> Visit:
        return self.visits[-1]

    def previous_visits(self, name: str) -> list[Visit]:
        """Completed visits of a state (the fork's trajectory.get_transitions: not the current one)."""
        return [v for v in self.visits[:-1] if v.state.name == name]

    def retries(self) -> int:
        count = 0
        for record in reversed(self.current.actions):
            if not record.retry_message:
                break
            count += 1
        return count

    def retry_messages(self, state: State) -> list[dict[str, Any]]:
        if not self.visits or self.current.state is not state:
            return []
        out: list[dict[str, Any]] = []
        for record in self.current.actions:
            if record.retry_message:
                out.append({"role": "assistant", "action": record.action})
                out.append({"role": "user", "content": record.retry_message})
        return out

    def total_cost(self) -> float:
        return sum(r.cost for v in self.visits[:-1] for r in v.actions)


class MoatlessScaffold(Scaffold):
    """SearchCode → IdentifyCode → DecideRelevance → PlanToCode ⇄ EditCode, as SWE-Gym's fork runs it."""

    name = "moatless"

    def __init__(self, *, index: CodeIndex | None = None, embedder: str = "auto", use_index_cache: bool = True,
                 index_store_dir: str | None = None, function_calling: str | None = None, **settings: Any):
        # The fork as SWE-Gym ran it asks for JSON in the text (instructor JSON mode), never native
        # tool calls: "auto" and "json"/"text" mean that; "native" would change what the model sees.
        if function_calling not in (None, "auto", "json", "text"):
            raise SwegymError(f"moatless scaffold: function_calling={function_calling!r}; the SWE-Gym fork ran in "
                              f"instructor's JSON mode, so only auto or json (text) are supported")
        self.settings = MoatlessSettings.from_options(settings)
        self.embedder = embedder
        self.use_index_cache = use_index_cache
        self.index_store_dir = index_store_dir
        self._index = index

    # -- setup ------------------------------------------------------------------------------
    def _workspace(self, sandbox: Sandbox, index: CodeIndex) -> Workspace:
        repo_dir = getattr(sandbox, "repo_dir", "/testbed").rstrip("/")

        def write_file(path: str, content: str) -> None:
            sandbox.write_file(f"{repo_dir}/{path}", content)

        return Workspace(index, sandbox_reader(sandbox, list_repo_files(sandbox)), write_file,
                         self.settings.max_file_context_tokens)

    def _sampling(self, sampling: SamplingParams | None, state: State) -> SamplingParams:
        """The caller's sampling (the fork's temperature 1.0 and 2,000 tokens when none is given);
        the stop words are the state's (``</replace>`` for EditCode), as the fork sends them."""
        base = copy.copy(sampling) if sampling else SamplingParams(temperature=self.settings.temperature)
        if base.max_tokens is None:
            base.max_tokens = self.settings.max_tokens
        base.stop = state.stop_words()
        return base

    # -- the loop ---------------------------------------------------------------------------
    def run(self, task: Task, sandbox: Sandbox, policy: Policy, sampling: SamplingParams | None = None) -> Trajectory:
        started = time.monotonic()
        index = self._index or index_for_sandbox(sandbox, task, self.embedder, use_cache=self.use_index_cache,
                                                 index_store_dir=self.index_store_dir)
        index_s = time.monotonic() - started
        run = Run(issue=task.problem_statement, workspace=self._workspace(sandbox, index), settings=self.settings)
        calls: list[dict[str, Any]] = []
        stop_reason, stop_detail = "", ""
        transitions = 0
        try:
            state: State = STATES["SearchCode"](self.settings)
            transitions = self._enter(run, state, transitions)
            while True:
                state = run.current.state
                response = self._step(run, state, policy, sampling, calls)
                if response.trigger not in (None, "retry"):
                    next_name = TRANSITIONS.get((state.name, response.trigger))
                    if next_name is None:
                        raise SwegymError(f"moatless: no transition from {state.name} on {response.trigger!r}")
                    if next_name == "EditCode" and "start_line" not in response.output:
                        next_name = "ClarifyCodeChange"
                    run.current.trigger = response.trigger
                    if next_name in (FINISHED, REJECTED):
                        stop_reason = "finished" if next_name == FINISHED else "rejected"
                        stop_detail = response.output.get("message") or ""
                        break
                    transitions = self._enter(run, STATES[next_name](self.settings, **response.output), transitions)
                if run.retries() > self.settings.max_retries:
                    raise _End("rejected", "The loop was aborted because the number of retries exceeded the limit.")
                if run.total_cost() > self.settings.max_cost:
                    raise _End("budget_exceeded", f"Max cost reached ({run.total_cost():.4f} > "
                                                  f"{self.settings.max_cost} at the fork's reference prices).")
        except _End as end:
            stop_reason, stop_detail = end.reason, end.detail
        except (InfrastructureError, SwegymError):
            raise
        except Exception as exc:  # a scaffold bug ends this rollout, not the whole run
            log.exception("moatless rollout of %s failed", task.instance_id)
            stop_reason, stop_detail = "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        total = sum((v.usage for v in run.visits), Usage())
        patch = sandbox.diff()
        metadata = {  # this scaffold's part of the record (instance, model, sampling are the rollout's)
            "iterations": len(run.visits),
            "stop_detail": stop_detail,
            "settings": self.settings.to_dict(),
            "usage": {"prompt_tokens": total.prompt_tokens, "completion_tokens": total.completion_tokens,
                      "calls": total.calls, "cost": total.cost,
                      "reference_cost": sum(r.cost for v in run.visits for r in v.actions)},
            "timings": {"index_s": round(index_s, 3), "total_s": round(time.monotonic() - started, 3)},
            "index": {"embedder": index.embedder.name, "embed_model": index.embed_model,
                      "chunks": len(index.chunks), "prebuilt": not index.files},
            "transitions": [_visit_dict(v) for v in run.visits],
            "calls": calls,
            "file_context": run.workspace.file_context.to_metadata(),
        }
        return Trajectory(instance_id=task.instance_id, messages=conversation(calls), tools=[], patch=patch,
                          scaffold=self.name, model=getattr(policy, "model", ""), stop_reason=stop_reason,
                          metadata={"scaffold": metadata})

    def _enter(self, run: Run, state: State, transitions: int) -> int:
        """loop.py transition_to: global and per-state limits, then the state's init."""
        transitions += 1
        if transitions > self.settings.max_transitions:
            raise _End("rejected", "Max transitions exceeded.")
        if state.max_iterations and len(run.previous_visits(state.name)) > state.max_iterations:
            raise _End("rejected", f"Max transitions exceeded for state {state.name}.")
        run.visits.append(Visit(state))
        state.init(run)
        return transitions

    def _step(self, run: Run, state: State, policy: Policy, sampling: SamplingParams | None,
              calls: list[dict[str, Any]]) -> Response:
        """One action: build the request, ask (re-asking unparsable replies), handle it."""
        action_type = state.action_type
        messages = completion_messages(state.system_prompt(run), state.messages(run), action_type,
                                       json_mode=run.json_mode, model_name=self.settings.model_name)
        params = self._sampling(sampling, state)
        action: Any = None
        cost = 0.0
        for attempt in range(1, self.settings.parse_attempts + 1):
            response = policy.complete(copy.deepcopy(messages), tools=None, sampling=params)
            usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.cost,
                          max(response.usage.calls, 1))
            run.current.usage = run.current.usage + usage
            cost += self.settings.cost(usage.prompt_tokens, usage.completion_tokens)
            if response.outcome == "context_window_exceeded":
                raise _End("context_window_exceeded", f"the prompt of {state.name} exceeds the model's context window")
            if response.outcome == "error":
                raise InfrastructureError(f"the policy failed in {state.name}: {response.content[:300]}")
            completion = {"role": "assistant", "content": response.content or ""}
            call = {"state": state.name, "visit": len(run.visits) - 1, "messages": copy.deepcopy(messages),
                    "completion": completion,
                    "valid": True, "usage": {"prompt_tokens": usage.prompt_tokens,
                                             "completion_tokens": usage.completion_tokens, "cost": usage.cost}}
            calls.append(call)
            if action_type is None:
                action = response.content or ""
                break
            try:
                action = parse_reply(action_type, response.content or "")
                break
            except ValidationError as exc:
                call["valid"] = False
                call["error"] = "unparsable"  # the fork logs this call as an error (no SFT row)
                if attempt == self.settings.parse_attempts:
                    raise _End("invalid_response", f"{state.name}: no valid {action_type.__name__} after "
                                                   f"{attempt} replies: {exc}") from None
                messages = messages + [completion, {"role": "user", "content": reask_message(exc)}]
        result = state.handle(action, run)
        run.current.actions.append(ActionRecord(action, result.retry_message, cost))
        if result.trigger == "retry":
            calls[-1]["valid"] = False
        return result


def _visit_dict(visit: Visit) -> dict[str, Any]:
    def dump(action: Any) -> Any:
        return action.model_dump() if isinstance(action, BaseModel) else action

    return {"state": visit.state.name, "trigger": visit.trigger,
            "input": {k: v for k, v in visit.state.data.items() if k != "verification_errors"},
            "actions": [{"action": dump(r.action), "retry_message": r.retry_message} for r in visit.actions]}
