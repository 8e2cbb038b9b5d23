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
PROFILES = ("v2.1", "0.13.1")  # the fork at adf7ab58 (the released rows) / its head e644a2ca
UNEXPECTED_ERROR = "There was an unexpected error while running the agent"
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
        in_context_example: bool | None = None,
        max_message_chars: int = obs.DEFAULT_MAX_MESSAGE_CHARS,
        max_context_tokens: int | None = None,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        workspace_mode: str = "symlink",
        detect_stuck: bool = True,
        profile: str = "v2.1",
    ):
        if profile not in PROFILES:
            raise SwegymError(f"openhands: profile={profile!r} is not one of {', '.join(PROFILES)}; "
                              "pass --scaffold-opt profile=v2.1 (the released SWE-Gym rows) or profile=0.13.1")
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
        self.profile = profile

    # ------------------------------------------------------------------------------------
    def resolve_mode(self, policy: Policy) -> str:
        if self.function_calling == "auto":
            return "native" if policy.supports_function_calling else "text"
        return self.function_calling

    def run(self, task: Task, sandbox: Sandbox, policy: Policy, sampling: SamplingParams | None = None) -> Trajectory:
        episode = _Episode(self, task, sandbox, policy, sampling or SamplingParams())
        return episode.run()


_CMD_RUN_FIELDS = {"command", "thought", "blocking", "keep_prompt", "hidden", "is_confirmed", "security_risk"}


def _rejected(call: ToolCall) -> str | None:
    """Why the fork's ``response_to_actions`` would raise on this call (ending the episode), or None."""
    try:
        args = json.loads(call.arguments)
    except (json.JSONDecodeError, TypeError):
        return f"Failed to parse tool call arguments: {call.arguments}"
    if call.name == "execute_bash":
        if not isinstance(args, dict):
            return f"openhands.events.action.commands.CmdRunAction() argument after ** must be a mapping, not {type(args).__name__}"
        for key in args:
            if key not in _CMD_RUN_FIELDS:
                return f"CmdRunAction.__init__() got an unexpected keyword argument '{key}'"
        if "command" not in args:
            return "CmdRunAction.__init__() missing 1 required positional argument: 'command'"
        return None
    if call.name in ("finish", "str_replace_editor"):
        return None
    return f"Unknown tool call: {call.name}"


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
        self.user_messages = 1  # the instruction
        self.window_start = 2  # 0.13.1 after a context overflow: the first message still shown after the task
        self.rejected_reply: dict[str, Any] | None = None

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> Trajectory:
        t0 = time.monotonic()
        self.workdir = ws.prepare(self.sandbox, self.task, self.cfg.workspace_mode)
        self.timings["setup_s"] = time.monotonic() - t0
        self.messages = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": instruction(self.task)},
        ]
        try:
            stop_reason = self._loop()
        finally:
            if self.shell is not None:
                self.shell.close()
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
            overflow = self._context_exceeded()
            response = None
            if not overflow:
                t = time.monotonic()
                response = self.policy.complete(self._policy_messages(), self._policy_tools(), self._sampling())
                self.timings["policy_s"] += time.monotonic() - t
                self.policy_calls += 1
                self.usage = self.usage + response.usage
                overflow = response.outcome == "context_window_exceeded"
            if overflow:
                if self.cfg.profile == "v2.1":  # the agent state became ERROR: the episode ends
                    return "context_window_exceeded"
                self.iterations += 1  # 0.13.1: keep about half of the history and step again
                if not self._halve_history():
                    return "context_window_exceeded"
                continue
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
            from swegym.formats import fncall

            try:
                content, calls = fncall.parse_openhands_reply(content, self.tools,
                                                              call_id=f"toolu_{self.call_counter + 1:02d}")
            except fncall.FunctionCallValidationError as exc:
                # 0.13.1 (the fork's only text mode): an ErrorObservation, the reply itself is dropped
                self.iterations += 1
                self._error_observation(str(exc))
                return self._stuck()
        # The fork turns every call into an action first: one it cannot build ends the episode.
        for call in calls:
            problem = _rejected(call)
            if problem is not None:
                self.iterations += 1
                self.errors.append(f"{UNEXPECTED_ERROR}:{problem}")
                self.rejected_reply = {"content": content, "tool_calls": [c.to_openai() for c in calls]}
                return "agent_error"
        calls = [self._with_id(c) for c in calls]
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [c.to_openai() for c in calls]
        self.messages.append(message)
        if not calls:
            self.iterations += 1
            self.events.append(stuck_mod.message_action(content))
            self._add_user(self._continue_text())
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
            thought = content if index == 0 else ""
            text = self._execute(call, thought)
            self.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text})
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

    def _continue_text(self) -> str:
        """The fork's fake user reply; 0.13.1 adds the give-up line once two user messages exist."""
        text = continue_message()
        if self.cfg.profile == "0.13.1" and self.user_messages >= 2:
            text += 'If you want to give up, use the "finish" tool to finish the interaction.\n'
        return text

    def _add_user(self, text: str) -> None:
        """A user message; the fork joined it to a preceding user message (one string, newline)."""
        self.user_messages += 1
        if self.messages and self.messages[-1]["role"] == "user":
            self.messages[-1]["content"] += "\n" + text
        else:
            self.messages.append({"role": "user", "content": text})

    def _error_observation(self, error: str) -> None:
        text = obs.error_observation(error, max_chars=self.cfg.max_message_chars, prefix=self.cfg.profile == "v2.1")
        if self.messages and self.messages[-1]["role"] == "user":
            self.messages[-1]["content"] += "\n" + text
        else:
            self.messages.append({"role": "user", "content": text})
        self.events.append(stuck_mod.error_observation(error))

    def _execute(self, call: ToolCall, thought: str) -> str:
        """Run one (already accepted) tool call; return its observation text."""
        args = json.loads(call.arguments) if call.arguments.strip() else {}
        t = time.monotonic()
        try:
            if call.name == "execute_bash":
                command = str(args["command"])
                self.events.append(stuck_mod.bash_action(command, thought))
                out = self._bash(command)
                self.events.append(stuck_mod.bash_observation(command, out.exit_code))
                return obs.cmd_observation(out.content, out.interpreter_details, out.exit_code,
                                           max_chars=self.cfg.max_message_chars, prefix=self.cfg.profile == "v2.1")
            code = f"print(file_editor(**{args!r}))"  # how the fork ran the editor (through Jupyter)
            self.events.append(stuck_mod.editor_action(code, thought))
            try:
                output = self.editor(args) if isinstance(args, dict) else f"ERROR: {args!r} is not a JSON object"
            except InfrastructureError:
                raise
            except Exception as exc:  # noqa: BLE001 - a tool failure is the agent's to see, never a crash
                self.errors.append(f"{call.name}: {type(exc).__name__}: {exc}")
                output = f"{type(exc).__name__}: {exc}"
            text = obs.editor_observation(output, max_chars=self.cfg.max_message_chars,
                                          prefix=self.cfg.profile == "v2.1")
            self.events.append(stuck_mod.editor_observation(text, code))
            return text
        finally:
            self.timings["tools_s"] += time.monotonic() - t

    def _bash(self, command: str):
        if self.shell is None:
            self.shell = ForkBash(self.sandbox, self.workdir, timeout=self.cfg.command_timeout,
                                  output_limit=10 * self.cfg.max_message_chars)
        return self.shell.run(command)

    def _halve_history(self) -> bool:
        """0.13.1's ``_apply_conversation_window`` on messages: keep the system prompt, the first
        user message and the second half of the rest, never starting on a tool result without
        the call that caused it. False when nothing is left to cut."""
        rest = len(self.messages) - self.window_start
        if rest <= 1:
            return False
        start = self.window_start + max(1, rest // 2)
        while start < len(self.messages) and self.messages[start]["role"] == "tool":
            start -= 1  # back to the assistant message holding the call
        self.window_start = max(start, self.window_start + 1)
        return True

    def _visible(self) -> list[dict[str, Any]]:
        return self.messages[:2] + self.messages[self.window_start:]

    # -- what the policy sees ----------------------------------------------------------
    def _policy_messages(self) -> list[dict[str, Any]]:
        if self.mode == "native":
            return copy.deepcopy(self._visible())
        from swegym.formats import fncall

        # the fork's default (nonfncall_mode_add_in_context_learning_example=True); SFT export renders without
        example = True if self.cfg.in_context_example is None else self.cfg.in_context_example
        return fncall.messages_to_text(self._visible(), self.tools, add_in_context_example=example)

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
        chars = sum(len(json.dumps(m, ensure_ascii=False)) for m in self._visible())
        return chars // 4 > limit  # ~4 characters per token: cheap, model-independent estimate

    # -- the record ---------------------------------------------------------------------
    def _trajectory(self, stop_reason: str, patch: str) -> Trajectory:
        model = getattr(self.policy, "model", "") or ""
        # The scaffold's part of the rollout record (see swegym.orchestration.record); instance_id,
        # model and stop_reason live on the Trajectory itself, sampling in orchestration's part.
        metadata: dict[str, Any] = {
            "iterations": self.iterations,
            "policy_calls": self.policy_calls,
            "max_iterations": self.cfg.max_iterations,
            "function_calling": self.mode,
            "usage": dataclasses.asdict(self.usage),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "workspace": self.workdir,
            "profile": self.cfg.profile,
        }
        if self.rejected_reply is not None:
            metadata["rejected_reply"] = self.rejected_reply
        if self.window_start > 2:
            metadata["history_window_start"] = self.window_start
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
            metadata={"scaffold": metadata},
        )


__all__ = ["CodeActScaffold", "load_tools", "system_prompt", "instruction", "continue_message", "InfrastructureError"]
