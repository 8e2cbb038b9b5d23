"""The CodeAct agent loop SWE-Gym ran (OpenHands 0.13, CodeActAgent 2.x), as a swegym Scaffold.

One iteration = one agent step (a tool call or a message), as OpenHands counts them. The reply's tool calls run in order (``execute_bash`` in the
sandbox shell, ``str_replace_editor`` on the host over the sandbox, ``finish`` ends the
episode); a reply without a call gets the "please continue" user message. Models without
native tool calls get the text emulation (:mod:`swegym.formats.fncall`); either way the
trajectory stores OpenAI native messages. Agent mistakes become observations;
:class:`swegym.InfrastructureError` from the sandbox or the policy propagates.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import time
from typing import Any

from swegym import InfrastructureError, Policy, Sandbox, SamplingParams, Scaffold, SwegymError, Task, ToolCall, Trajectory, Usage
from swegym import prompts

from . import observations as obs
from . import stuck as stuck_mod
from . import workspace as ws
from .editor import Editor
from .shell import ForkBash

FUNCTION_CALLING_MODES = ("auto", "native", "text")
DEFAULT_COMMAND_TIMEOUT = 300.0  # the SWE-Gym rows show "timed out after 300 seconds"


def load_tools() -> list[dict[str, Any]]:
    """The exact tool schemas of the SWE-Gym rows (prompts/openhands/tools.json)."""
    return json.loads(prompts.source("openhands/tools.json"))


def system_prompt() -> str:
    return prompts.render("openhands/system.j2")


def instruction(task: Task) -> str:
    return prompts.render(
        "openhands/instruction.j2", workspace_name=ws.workspace_name(task), problem_statement=task.problem_statement
    )


def continue_message() -> str:
    return prompts.render("openhands/continue.j2")


class CodeActScaffold(Scaffold):
    """OpenHands CodeAct (SWE-Gym flavour): execute_bash, str_replace_editor, finish."""

    name = "openhands"

    def __init__(
        self,
        max_iterations: int = 50,
        function_calling: str = "auto",
        in_context_example: bool = False,
        max_message_chars: int = obs.DEFAULT_MAX_MESSAGE_CHARS,
        max_context_tokens: int | None = None,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        workspace_mode: str = "symlink",
        detect_stuck: bool = True,
    ):
        if function_calling not in FUNCTION_CALLING_MODES:
            raise SwegymError(
                f"openhands: function_calling={function_calling!r} is not one of {', '.join(FUNCTION_CALLING_MODES)}; "
                "pass --function-calling auto|native|text"
            )
        if not isinstance(max_iterations, int) or max_iterations < 1:
            raise SwegymError(f"openhands: max_iterations must be a positive integer, got {max_iterations!r}")
        if workspace_mode not in ("copy", "symlink"):
            raise SwegymError(f"openhands: workspace_mode must be 'copy' or 'symlink', got {workspace_mode!r}")
        self.max_iterations = max_iterations
        self.function_calling = function_calling
        self.in_context_example = in_context_example
        self.max_message_chars = max_message_chars
        self.max_context_tokens = max_context_tokens
        self.command_timeout = command_timeout
        self.workspace_mode = workspace_mode
        self.detect_stuck = detect_stuck

    # ------------------------------------------------------------------------------------
    def resolve_mode(self, policy: Policy) -> str:
        if self.function_calling == "auto":
            return "native" if policy.supports_function_calling else "text"
        return self.function_calling

    def run(self, task: Task, sandbox: Sandbox, policy: Policy, sampling: SamplingParams | None = None) -> Trajectory:
        episode = _Episode(self, task, sandbox, policy, sampling or SamplingParams())
        return episode.run()


class _Episode:
    """State of one rollout: messages, events for the stuck detector, counters."""

    def __init__(self, cfg: CodeActScaffold, task: Task, sandbox: Sandbox, policy: Policy, sampling: SamplingParams):
        self.cfg, self.task, self.sandbox, self.policy, self.sampling = cfg, task, sandbox, policy, sampling
        self.mode = cfg.resolve_mode(policy)
        self.tools = load_tools()
        self.tool_names = {t["function"]["name"] for t in self.tools}
        self.messages: list[dict[str, Any]] = []
        self.events: list[stuck_mod.Event] = []
        self.usage = Usage()
        self.timings = {"setup_s": 0.0, "policy_s": 0.0, "tools_s": 0.0, "patch_s": 0.0, "total_s": 0.0}
        self.editor = Editor(sandbox)
        self.iterations = 0
        self.policy_calls = 0
        self.stuck_reason = ""
        self.call_counter = 0
        self.errors: list[str] = []
        self.shell: ForkBash | None = None

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> Trajectory:
        t0 = time.monotonic()
        self.workdir = ws.prepare(self.sandbox, self.task, self.cfg.workspace_mode)
        self.timings["setup_s"] = time.monotonic() - t0
        self.messages = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": instruction(self.task)},
        ]
        stop_reason = self._loop()
        t1 = time.monotonic()
        try:
            patch = ws.final_patch(self.sandbox, self.task, self.workdir)
        except ws.PatchError as exc:  # the agent broke the repository: an empty patch, not a crash
            patch = ""
            self.errors.append(str(exc))
        self.timings["patch_s"] = time.monotonic() - t1
        self.timings["total_s"] = time.monotonic() - t0
        return self._trajectory(stop_reason, patch)

    def _loop(self) -> str:
        """Steps are counted as OpenHands counts them: one per action (tool call or message)."""
        while self.iterations < self.cfg.max_iterations:
            if self._context_exceeded():
                return "context_window_exceeded"
            t = time.monotonic()
            response = self.policy.complete(self._policy_messages(), self._policy_tools(), self._sampling())
            self.timings["policy_s"] += time.monotonic() - t
            self.policy_calls += 1
            self.usage = self.usage + response.usage
            if response.outcome == "context_window_exceeded":
                return "context_window_exceeded"
            if response.outcome == "error":
                self.errors.append(response.content or "policy returned outcome=error")
                return "policy_error"
            status = self._handle(response.content or "", list(response.tool_calls))
            if status:
                return status
        return "max_iterations"

    def _stuck(self) -> str | None:
        if self.cfg.detect_stuck:
            self.stuck_reason = stuck_mod.stuck_reason(self.events) or ""
            return "stuck" if self.stuck_reason else None
        return None

    # -- one reply ----------------------------------------------------------------------
    def _handle(self, content: str, calls: list[ToolCall]) -> str | None:
        """Record the reply and run its calls; return a stop reason or None to go on."""
        if self.mode == "text":
            try:
                from swegym.formats import fncall

                text, calls = fncall.parse_text_tool_calls(content, self.tools, start=self.call_counter + 1)
            except Exception as exc:  # FunctionCallFormatError and anything a parser may raise
                self._bad_call(content, str(exc))
                return self._stuck()
            content = text.rstrip() if calls else text
        calls = [self._with_id(c) for c in calls]
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [c.to_openai() for c in calls]
        self.messages.append(message)
        if not calls:
            self.iterations += 1
            self.events.append(stuck_mod.Action("message:" + content, is_message=True))
            self.messages.append({"role": "user", "content": continue_message()})
            return self._stuck()
        for index, call in enumerate(calls):
            if self.iterations >= self.cfg.max_iterations:
                # out of steps mid-reply: keep only the calls that ran, so every call has its result
                message["tool_calls"] = message["tool_calls"][:index]
                return "max_iterations"
            self.iterations += 1
            if call.name == "finish":
                message["tool_calls"] = message["tool_calls"][: index + 1]
                return "finish"
            text, is_error = self._execute(call)
            self.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text})
            self.events.append(stuck_mod.Observation(text, error=is_error))
            stuck = self._stuck()
            if stuck:
                message["tool_calls"] = message["tool_calls"][: index + 1]
                return stuck
        return None

    def _with_id(self, call: ToolCall) -> ToolCall:
        self.call_counter += 1
        if call.id:
            return call
        return ToolCall(id=f"toolu_{self.call_counter:02d}", name=call.name, arguments=call.arguments)

    def _bad_call(self, content: str, error: str) -> None:
        """A malformed text-format call: keep what the model wrote and show it the error."""
        self.iterations += 1
        self.messages.append({"role": "assistant", "content": content})
        self.events.append(stuck_mod.Action("malformed:" + content))
        text = obs.error_observation(error, max_chars=self.cfg.max_message_chars)
        self.messages.append({"role": "user", "content": text})
        self.events.append(stuck_mod.Observation(text, error=True))

    def _execute(self, call: ToolCall) -> tuple[str, bool]:
        """Run one tool call; return (observation text, is it an error observation)."""
        try:
            args = json.loads(call.arguments) if call.arguments.strip() else {}
        except (json.JSONDecodeError, AttributeError) as exc:
            args, problem = None, f"Failed to parse tool call arguments: {exc}. Arguments must be a JSON object."
        else:
            problem = None if isinstance(args, dict) else "Tool call arguments must be a JSON object."
        key = call.name + ":" + (json.dumps(args, sort_keys=True) if isinstance(args, dict) else str(call.arguments))
        self.events.append(stuck_mod.Action(key))
        if call.name not in self.tool_names:
            problem = f"Tool {call.name} is not registered. (arguments: {call.arguments}). Please check the tool name and retry with an existing tool."
        if problem is not None:
            return obs.error_observation(problem, max_chars=self.cfg.max_message_chars), True
        t = time.monotonic()
        try:
            return self._run_tool(call.name, args)
        except InfrastructureError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tool failure is the agent's to see, never a crash
            self.errors.append(f"{call.name}: {type(exc).__name__}: {exc}")
            return obs.error_observation(f"{type(exc).__name__}: {exc}", max_chars=self.cfg.max_message_chars), True
        finally:
            self.timings["tools_s"] += time.monotonic() - t

    def _run_tool(self, name: str, args: dict[str, Any]) -> tuple[str, bool]:
        if name == "execute_bash":
            if "command" not in args:
                return obs.error_observation(
                    "Missing required parameters for function 'execute_bash': {'command'}",
                    max_chars=self.cfg.max_message_chars,
                ), True
            return self._bash(str(args["command"])), False
        output = self.editor(args)
        return obs.editor_observation(output, max_chars=self.cfg.max_message_chars), output.startswith("ERROR:")

    def _bash(self, command: str) -> str:
        if self.shell is None:
            self.shell = ForkBash(self.sandbox, self.workdir, timeout=self.cfg.command_timeout,
                                  output_limit=10 * self.cfg.max_message_chars)
        out = self.shell.run(command)
        return obs.cmd_observation(out.content, out.interpreter_details, out.exit_code,
                                   max_chars=self.cfg.max_message_chars)

    # -- what the policy sees ----------------------------------------------------------
    def _policy_messages(self) -> list[dict[str, Any]]:
        if self.mode == "native":
            return copy.deepcopy(self.messages)
        from swegym.formats import fncall

        return fncall.messages_to_text(self.messages, self.tools, add_in_context_example=self.cfg.in_context_example)

    def _policy_tools(self) -> list[dict[str, Any]] | None:
        return copy.deepcopy(self.tools) if self.mode == "native" else None

    def _sampling(self) -> SamplingParams:
        if self.mode == "native":
            return self.sampling
        from swegym.formats import fncall

        stop = list(self.sampling.stop or [])
        stop += [w for w in fncall.STOP_WORDS if w not in stop]
        return dataclasses.replace(self.sampling, stop=stop)

    def _context_exceeded(self) -> bool:
        limit = self.cfg.max_context_tokens
        if not limit:
            return False
        chars = sum(len(json.dumps(m, ensure_ascii=False)) for m in self.messages)
        return chars // 4 > limit  # ~4 characters per token: cheap, model-independent estimate

    # -- the record ---------------------------------------------------------------------
    def _trajectory(self, stop_reason: str, patch: str) -> Trajectory:
        model = getattr(self.policy, "model", "") or ""
        metadata: dict[str, Any] = {
            "instance_id": self.task.instance_id,
            "scaffold": "openhands",
            "model": model,
            "sampling": dataclasses.asdict(self.sampling),
            "seed": self.sampling.seed,
            "iterations": self.iterations,
            "policy_calls": self.policy_calls,
            "max_iterations": self.cfg.max_iterations,
            "stop_reason": stop_reason,
            "function_calling": self.mode,
            "usage": dataclasses.asdict(self.usage),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "workspace": self.workdir,
        }
        if stop_reason == "stuck":
            metadata["stuck_pattern"] = self.stuck_reason
        if self.errors:
            metadata["errors"] = self.errors
        return Trajectory(
            instance_id=self.task.instance_id,
            messages=self.messages,
            tools=self.tools,
            patch=patch,
            scaffold="openhands",
            model=model,
            stop_reason=stop_reason,
            metadata=metadata,
        )


__all__ = ["CodeActScaffold", "load_tools", "system_prompt", "instruction", "continue_message", "InfrastructureError"]
