"""A Moatless rollout as data: one record per transition, exportable as per-call samples or one chat.

SWE-Gym built its MoatlessTools SFT data from the individual model calls (each state's own
prompt and the model's reply); the conversation view strings every call together for tools that
want one chat per rollout.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from swegym import Trajectory, Usage
from swegym.orchestration.record import scaffold_part


@dataclass
class TransitionRecord:
    """What happened in one state visit: the action taken, where it led and what it cost."""

    state: str
    action: dict[str, Any] | None = None
    output: dict[str, Any] = field(default_factory=dict)
    next_state: str | None = None
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "action": self.action,
            "output": self.output,
            "next_state": self.next_state,
            "retries": self.retries,
            "errors": self.errors,
            "usage": {"prompt_tokens": self.usage.prompt_tokens, "completion_tokens": self.usage.completion_tokens,
                      "calls": self.usage.calls},
            "cost": self.usage.cost,
        }


def conversation(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All calls as one chat: the first system prompt, then each call's new messages and its reply.

    A retry's prompt extends the previous call's, so only the feedback is new; a new state's
    prompt starts afresh and contributes its user message (its system prompt stays in the call).
    """
    messages: list[dict[str, Any]] = []
    previous: list[dict[str, Any]] | None = None
    for call in calls:
        prompt = call["messages"]
        if not messages:
            messages.extend(copy.deepcopy(prompt))
        elif previous is not None and prompt[: len(previous)] == previous:
            messages.extend(copy.deepcopy(prompt[len(previous):]))
        else:
            messages.extend(copy.deepcopy([m for m in prompt if m.get("role") != "system"]))
        messages.append(copy.deepcopy(call["completion"]))
        previous = prompt + [call["completion"]]
    return messages


def call_samples(trajectory: Trajectory, valid_only: bool = True) -> list[dict[str, Any]]:
    """Per-call SFT samples ``{"messages": prompt + completion}``, as SWE-Gym trained Moatless agents."""
    samples = []
    for call in scaffold_part(trajectory.metadata).get("calls", []):
        if valid_only and not call.get("valid", True):
            continue
        samples.append({"instance_id": trajectory.instance_id, "state": call["state"],
                        "messages": list(call["messages"]) + [call["completion"]]})
    return samples
