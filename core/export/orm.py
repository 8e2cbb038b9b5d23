"""Verifier (ORM) conversations: the prompt a verifier scores, and ``swegym export orm``.

Two prompts, both Jinja templates in ``prompts/orm/`` (SWE-Gym paper, appendix B):

- ``openhands``: the trajectory in SWE-Gym's SFT text rendering, turn by turn, judged by an
  "expert judge"; answer ``<judgement>YES</judgement>`` / ``<judgement>NO</judgement>``.
- ``moatless``: the issue, the patch as before/after hunks, the code spans the agent looked at;
  answer ``True`` / ``False``.

Training rows are system + user + assistant answer; positives are resolved rollouts, negatives
unresolved ones sampled at ``negative_ratio`` per positive (infrastructure errors are neither).
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any, Iterable

from tqdm import tqdm

from .. import prompts
from ..errors import DataError, SwegymError
from ..files import atomic_output
from ..jsonl import dumps_line
from ..orchestration.record import scaffold_part
from ..types import Task, Trajectory
from .inputs import read_trajectories
from .sft import ExportStats, openhands_text_messages
from .tokens import make_counter

SEPARATOR = "-" * 100
_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


TEMPLATES = ("openhands", "moatless")


def _check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise SwegymError(f"unknown ORM template {template!r}; choose one of {', '.join(TEMPLATES)}")


def interaction_entries(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages → log entries with turn numbers (a turn starts at each user message)."""
    entries, turn = [], 0
    for message in messages:
        role = message.get("role")
        if role == "user":
            turn += 1
        entries.append({"role": role, "turn": turn, "content": message.get("content") or ""})
    return entries


def _patch_sides(patch: str) -> tuple[str, str]:
    """A unified diff → (before, after): each hunk's old and new lines, numbered, one block per hunk.

    Blocks read ``<before_file="a/PATH" start_line=N>`` … ``</before_file="a/PATH">`` with lines
    ``(0012) text``, so a verifier sees the changed code with its surrounding context.
    """
    before: list[str] = []
    after: list[str] = []
    old_path = new_path = ""
    old_no = new_no = old_left = new_left = 0
    in_hunk = False

    def close() -> None:
        if in_hunk:
            before.append(f'</before_file="{old_path}">')
            after.append(f'</after_file="{new_path}">')

    for line in patch.splitlines():
        match = _HUNK_RE.match(line)
        if match:
            close()
            in_hunk = True
            old_no, new_no = int(match.group(1)), int(match.group(3))
            old_left = int(match.group(2) if match.group(2) is not None else 1)
            new_left = int(match.group(4) if match.group(4) is not None else 1)
            before.append(f'<before_file="{old_path}" start_line={old_no}>')
            after.append(f'<after_file="{new_path}" start_line={new_no}>')
        elif line.startswith("diff --git"):
            close()
            in_hunk = False
        elif not in_hunk:
            if line.startswith("--- "):
                old_path = line[4:].split("\t")[0]
            elif line.startswith("+++ "):
                new_path = line[4:].split("\t")[0]
        elif line.startswith("\\"):  # "\ No newline at end of file"
            continue
        elif old_left <= 0 and new_left <= 0:
            close()
            in_hunk = False
            if line.startswith("--- "):
                old_path = line[4:].split("\t")[0]
        elif line.startswith("-"):
            before.append(f"({old_no:04d}) {line[1:]}")
            old_no, old_left = old_no + 1, old_left - 1
        elif line.startswith("+"):
            after.append(f"({new_no:04d}) {line[1:]}")
            new_no, new_left = new_no + 1, new_left - 1
        else:
            text = line[1:]
            before.append(f"({old_no:04d}) {text}")
            after.append(f"({new_no:04d}) {text}")
            old_no, new_no, old_left, new_left = old_no + 1, new_no + 1, old_left - 1, new_left - 1
    close()
    return "\n".join(before), "\n".join(after)


def _issue_text(traj: Trajectory, task: Task | None) -> str:
    if task is not None and task.problem_statement:
        return task.problem_statement
    text = scaffold_part(traj.metadata).get("problem_statement")
    if text:
        return text
    raise SwegymError(
        f"trajectory {traj.instance_id} ({traj.run_id}) has no issue text for the moatless ORM prompt; "
        "pass its task (tasks={instance_id: Task}) or record metadata['problem_statement']"
    )


def render_orm_conversation(traj: Trajectory, template: str = "openhands", *, task: Task | None = None) -> list[dict[str, Any]]:
    """System + user messages: the prompt a verifier scores for ``traj``."""
    _check_template(template)
    system = prompts.render(f"orm/{template}_system.j2")
    user = prompts.render(f"orm/{template}_user.j2", **_USER_CONTEXT[template](traj, task))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _interaction_context(traj: Trajectory, task: Task | None) -> dict[str, Any]:
    """The whole interaction as text turns (the SWE-Gym OpenHands verifier prompt)."""
    return {"entries": interaction_entries(openhands_text_messages(traj)), "separator": SEPARATOR}


def _patch_context(traj: Trajectory, task: Task | None) -> dict[str, Any]:
    """Issue, code spans and the patch's before/after sides (the Moatless verifier prompt)."""
    before, after = _patch_sides(traj.patch or "")
    spans = [
        {"file_path": s.get("file_path", ""), "span_ids": list(s.get("span_ids") or []), "content": s.get("content", "")}
        for s in scaffold_part(traj.metadata).get("file_context") or []
    ]
    return {"issue_text": _issue_text(traj, task), "before_patch": before, "after_patch": after, "code_spans": spans}


#: Prompt format → what its ``orm/<format>_user.j2`` template is rendered with. The formats are the
#: trajectory shapes the SWE-Gym verifiers were trained on, named after the scaffold that wrote them.
_USER_CONTEXT = {"openhands": _interaction_context, "moatless": _patch_context}


def orm_answer(resolved: bool, template: str = "openhands") -> dict[str, Any]:
    """The assistant message a verifier is trained to produce."""
    _check_template(template)
    return {"role": "assistant", "content": prompts.render(f"orm/{template}_answer.j2", resolved=bool(resolved))}


def orm_row(traj: Trajectory, template: str = "openhands", *, task: Task | None = None) -> dict[str, Any]:
    resolved = bool(traj.resolved)
    messages = render_orm_conversation(traj, template, task=task) + [orm_answer(resolved, template)]
    return {"instance_id": traj.instance_id, "run_id": traj.run_id, "resolved": resolved, "messages": messages}


def select_pairs(trajectories: list[Trajectory], negative_ratio: float | None, seed: int) -> list[Trajectory]:
    """All positives plus ``round(ratio * positives)`` sampled negatives, in input order.

    ``negative_ratio=None`` keeps every negative.
    """
    positives = [i for i, t in enumerate(trajectories) if t.resolved]
    negatives = [i for i, t in enumerate(trajectories) if not t.resolved]
    if negative_ratio is not None:
        if negative_ratio < 0:
            raise SwegymError(f"--negative-ratio must be >= 0, got {negative_ratio}")
        want = min(len(negatives), round(negative_ratio * len(positives)))
        negatives = random.Random(seed).sample(negatives, want)
    keep = set(positives) | set(negatives)
    return [t for i, t in enumerate(trajectories) if i in keep]


def export_orm(
    run_dirs_or_files: Iterable[str | Path] | str | Path,
    out: str | Path,
    *,
    template: str = "openhands",
    negative_ratio: float | None = 1.0,
    seed: int = 0,
    max_tokens: int | None = None,
    tokenizer: Any = None,
    tasks: dict[str, Task] | None = None,
) -> ExportStats:
    """Write ORM training conversations (one JSONL row each) from one or more runs."""
    _check_template(template)
    sources = [run_dirs_or_files] if isinstance(run_dirs_or_files, (str, Path)) else list(run_dirs_or_files)
    count = make_counter(max_tokens, tokenizer)
    stats = ExportStats()
    graded: list[Trajectory] = []
    for traj in read_trajectories(sources):
        stats.read += 1
        if traj.evaluation is None:
            stats.skip("not_evaluated")
        elif traj.status == "error":
            stats.skip("infrastructure_error")
        else:
            graded.append(traj)
    chosen = select_pairs(graded, negative_ratio, seed)
    if len(graded) > len(chosen):
        stats.skip("negatives_not_sampled", len(graded) - len(chosen))
    out = Path(out)
    seen = set()
    with atomic_output(out) as fh:
        for traj in tqdm(chosen, desc="export orm", unit="traj", disable=None):
            try:
                row = orm_row(traj, template, task=(tasks or {}).get(traj.instance_id))
            except ValueError as exc:  # malformed messages/tools in the input
                raise DataError(f"trajectory {traj.instance_id} ({traj.run_id}): {exc}") from exc
            if count is not None and count(row["messages"]) > max_tokens:  # type: ignore[operator]
                stats.skip("too_long")
                continue
            fh.write(dumps_line(row))
            stats.written += 1
            seen.add(traj.instance_id)
    stats.tasks = len(seen)
    return stats


__all__ = ["TEMPLATES", "export_orm", "interaction_entries", "orm_answer", "orm_row", "render_orm_conversation", "select_pairs"]
