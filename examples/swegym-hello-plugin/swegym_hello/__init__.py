"""A sample swegym plugin: a policy that echoes the last user message, and a one-command scaffold
with typed options and a CLI flag of its own (``--hello-greeting``), added through the hook."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import swegym
from swegym import Policy, PolicyResponse, SamplingParams, Scaffold, Trajectory
from swegym.options import Options


class EchoPolicy(Policy):
    """Replies with the last user message: handy to test a pipeline without a model."""

    name = "echo"
    model = "echo"

    def complete(self, messages: list[dict[str, Any]], tools=None, sampling: SamplingParams | None = None) -> PolicyResponse:
        last_user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        return PolicyResponse(content=str(last_user))


@dataclass
class ShellOnceOptions(Options):
    """What ``--scaffold-opt``, config files and ``--hello-greeting`` may set."""

    component: ClassVar[str] = "scaffold shell-once"

    greeting: str | None = None
    max_steps: int | None = None  # the shared step limit; one command is one step


class ShellOnceScaffold(Scaffold):
    """Runs the policy's reply as one shell command in the sandbox, then stops."""

    name = "shell-once"

    def __init__(self, greeting: str = "hello", max_steps: int = 1) -> None:
        self.greeting = greeting
        self.max_steps = max_steps

    def run(self, task, sandbox, policy, sampling=None) -> Trajectory:
        messages = [{"role": "user", "content": f"echo {self.greeting} from $(pwd)"}]
        reply = policy.complete(messages, sampling=sampling)
        result = sandbox.run(reply.content, timeout=30)
        messages += [reply.to_message(), {"role": "user", "content": result.output}]
        return Trajectory(instance_id=task.instance_id, messages=messages, patch=sandbox.diff(),
                          scaffold=self.name, model=policy.model, stop_reason="finish",
                          metadata={"greeting": self.greeting})


def create_scaffold(**options: Any) -> ShellOnceScaffold:
    """One shell command written by the policy."""
    return ShellOnceScaffold(**ShellOnceOptions.from_dict(options).kwargs())


@swegym.hookimpl
def register_policies(register):
    register("echo", EchoPolicy)


@swegym.hookimpl
def register_scaffolds(register):
    register("shell-once", create_scaffold, options=ShellOnceOptions)


@swegym.hookimpl
def add_cli_options(group):
    """``swegym run --scaffold shell-once --hello-greeting hi``: the flag is this plugin's own."""
    group.add("--hello-greeting", kind="scaffold", component="shell-once", key="greeting",
              help="What the shell-once scaffold asks the policy to echo.")
