"""A sample swegym plugin: a policy that echoes the last user message, and a one-command scaffold."""
from __future__ import annotations

from typing import Any

import swegym
from swegym import Policy, PolicyResponse, SamplingParams, Scaffold, Trajectory


class EchoPolicy(Policy):
    """Replies with the last user message: handy to test a pipeline without a model."""

    name = "echo"
    model = "echo"

    def complete(self, messages: list[dict[str, Any]], tools=None, sampling: SamplingParams | None = None) -> PolicyResponse:
        last_user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        return PolicyResponse(content=str(last_user))


class ShellOnceScaffold(Scaffold):
    """Runs the policy's reply as one shell command in the sandbox, then stops."""

    name = "shell-once"

    def run(self, task, sandbox, policy, sampling=None) -> Trajectory:
        messages = [{"role": "user", "content": "echo hello from $(pwd)"}]
        reply = policy.complete(messages, sampling=sampling)
        result = sandbox.run(reply.content, timeout=30)
        messages += [reply.to_message(), {"role": "user", "content": result.output}]
        return Trajectory(instance_id=task.instance_id, messages=messages, patch=sandbox.diff(),
                          scaffold=self.name, model=policy.model, stop_reason="done")


@swegym.hookimpl
def register_policies(register):
    register("echo", EchoPolicy)


@swegym.hookimpl
def register_scaffolds(register):
    register("shell-once", ShellOnceScaffold)
