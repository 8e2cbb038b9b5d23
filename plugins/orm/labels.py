"""Where the verdict sits in a verifier conversation, and which tokens carry it.

The score is P(YES) = softmax([logit_YES, logit_NO])[0] at the position where the answer's label
starts. Rather than guess how a tokenizer splits ``<judgement>YES``, we tokenize the whole
conversation once with each answer (exactly as training renders it) and take the first position
where the two token sequences differ: everything before it is the prompt, and the two tokens
there are the labels' first tokens (a label spanning several tokens is judged by its first one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from swegym import SwegymError, Task, Trajectory

#: template -> (text the answer starts with before the label, positive label, negative label)
LABELS = {"openhands": ("<judgement>", "YES", "NO"), "moatless": ("", "True", "False")}


@dataclass
class Prepared:
    """One rollout ready for a forward pass."""

    input_ids: list[int]
    yes_id: int
    no_id: int
    truncated: bool = False


def check_template(template: str) -> None:
    if template not in LABELS:
        raise SwegymError(f"unknown verifier template {template!r}; choose one of {', '.join(LABELS)}")


def conversation(traj: Trajectory, template: str, task: Task | None = None) -> list[dict[str, Any]]:
    """System + user messages of the verifier prompt (the same renderer the exporter trains on)."""
    from swegym.export.orm import render_orm_conversation

    return render_orm_conversation(traj, template, task=task)


def answers(template: str) -> tuple[str, str]:
    """The two assistant answers training uses, positive first."""
    from swegym.export.orm import orm_answer

    return orm_answer(True, template)["content"], orm_answer(False, template)["content"]


def _ids(tokenizer: Any, messages: list[dict[str, Any]]) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def split_at_label(yes_ids: Sequence[int], no_ids: Sequence[int]) -> tuple[int, int, int]:
    """(prompt length, YES token, NO token): the first position where the two renderings differ."""
    n = min(len(yes_ids), len(no_ids))
    p = 0
    while p < n and yes_ids[p] == no_ids[p]:
        p += 1
    if p == n:
        raise SwegymError("the YES and NO answers tokenize identically; the tokenizer cannot tell the labels apart")
    return p, int(yes_ids[p]), int(no_ids[p])


def prepare(tokenizer: Any, messages: list[dict[str, Any]], template: str, max_length: int | None) -> Prepared:
    yes, no = answers(template)
    yes_ids = _ids(tokenizer, messages + [{"role": "assistant", "content": yes}])
    no_ids = _ids(tokenizer, messages + [{"role": "assistant", "content": no}])
    p, yes_id, no_id = split_at_label(yes_ids, no_ids)
    prompt = yes_ids[:p]
    truncated = max_length is not None and len(prompt) > max_length
    if truncated:
        prompt = prompt[-max_length:]  # type: ignore[index]  # keep the end: the verdict depends on it
    return Prepared(prompt, yes_id, no_id, truncated)


def label_candidates(template: str) -> tuple[str, str, str]:
    return LABELS[template]
