"""EditCode's text edit as the fork applies it: replace lines, strip blank edges, drop echoed
trailing lines, and diff with the fork's unified-diff settings (shown to the plan state).

Why exact: the diff is part of the next PlanToCode prompt; a model trained on fork data expects
``--- path`` / ``+++ path`` headers on stripped contents, not git's diff.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass
class UpdateResult:
    content: str
    diff: str


def remove_duplicate_lines(replacement: list[str], following: list[str]) -> list[str]:
    """Drop lines at the end of the replacement that repeat the lines right after the edit."""
    if not replacement or not following:
        return replacement
    for overlap in range(min(len(replacement), len(following)), 0, -1):
        if replacement[-overlap:] == following[:overlap]:
            return replacement[:-overlap]
    return replacement


def do_diff(file_path: str, original: str, updated: str) -> str:
    return "".join(difflib.unified_diff(original.strip().splitlines(True), updated.strip().splitlines(True),
                                        fromfile=file_path, tofile=file_path, lineterm="\n"))


def update_by_line_numbers(file_path: str, content: str, start_index: int, end_index: int,
                           replacement: str) -> UpdateResult:
    """Replace lines ``[start_index, end_index)`` (0-based) with ``replacement``."""
    lines = replacement.split("\n")
    while lines and lines[0].strip() == "":
        lines.pop(0)
    while lines and lines[-1].strip() == "":
        lines.pop()
    original = content.split("\n")
    lines = remove_duplicate_lines(lines, original[end_index:])
    updated = "\n".join(original[:start_index] + lines + original[end_index:])
    return UpdateResult(updated, do_diff(file_path, content, updated))


def invalid_code_error(file_path: str, content: str) -> str | None:
    """An error text when the updated Python no longer parses (None when fine or not Python)."""
    if not file_path.endswith(".py"):
        return None
    try:
        compile(content, file_path, "exec")
    except SyntaxError:
        return "The updated code is invalid."
    return None
