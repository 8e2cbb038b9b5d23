"""A Moatless rollout as one chat, for tools that want a single conversation per rollout.

The fork's training data are per state visit (``metadata["calls"]``, exported with
``swegym export sft --format moatless-calls``); this view strings every call together.
"""
from __future__ import annotations

import copy
from typing import Any


def conversation(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All calls as one chat: the first system prompt, then each call's new messages and its reply.

    A retry's prompt extends the previous call's, so only the feedback is new; a new state's
    prompt starts afresh and contributes its non-system messages.
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
