"""``str_replace_editor``: the file tool CodeActAgent used, run from the host over a Sandbox.

SWE-Gym's trajectories were produced with the editor OpenHands 0.13 shipped (the
Anthropic-derived editor that became openhands-aci 0.1). Models trained on those
trajectories expect its exact texts, so every message and error string here matches the
observations in the released rows (``cat -n`` views with 6-wide numbers, a 16,000-char clip,
``Please ensure it is unique`` without a period, tabs expanded on edits, ...). The files live
in the sandbox; this class only needs ``read_file``/``write_file``/``run``, and keeps the
per-file undo history on the host.
"""
from __future__ import annotations

import json
import shlex
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Any, Protocol

from swegym import InfrastructureError

TOOL_NAME = "str_replace_editor"
COMMANDS = ("view", "create", "str_replace", "insert", "undo_edit")
SNIPPET_LINES = 4
MAX_RESPONSE_LEN = 16_000
TRUNCATED_MESSAGE = (
    "<response clipped><NOTE>To save on context only part of this file has been shown to you. You should "
    "retry this tool after you have searched inside the file with `grep -n` in order to find the line numbers "
    "of what you are looking for.</NOTE>"
)
_PARAMETERS = ("command", "path", "file_text", "view_range", "old_str", "new_str", "insert_line")


class _Shell(Protocol):
    def run(self, command: str, timeout: float = ..., output_limit: int = ...) -> Any: ...
    def read_file(self, path: str) -> str: ...
    def write_file(self, path: str, content: str) -> None: ...


class ToolError(Exception):
    """An error the model caused; it becomes an ``ERROR:`` observation."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def maybe_truncate(content: str, limit: int | None = MAX_RESPONSE_LEN) -> str:
    """Clip ``content`` after ``limit`` chars and say so (the editor's 16,000-char rule)."""
    return content if not limit or len(content) <= limit else content[:limit] + TRUNCATED_MESSAGE


def make_output(content: str, descriptor: str, init_line: int = 1) -> str:
    """``cat -n`` style listing: clip, expand tabs, number every line 6 wide."""
    content = maybe_truncate(content).expandtabs()
    numbered = "\n".join(f"{i + init_line:6}\t{line}" for i, line in enumerate(content.split("\n")))
    return f"Here's the result of running `cat -n` on {descriptor}:\n" + numbered + "\n"


class Editor:
    """One editor per episode: undo history lives as long as the agent's session."""

    def __init__(self, sandbox: _Shell, timeout: float = 60.0):
        self.sandbox = sandbox
        self.timeout = timeout
        self._history: dict[str, list[str]] = defaultdict(list)

    # -- entry point --------------------------------------------------------------------
    def __call__(self, arguments: dict[str, Any]) -> str:
        """Run one call and return the observation text (errors become ``ERROR:\\n...``)."""
        try:
            output = self._dispatch(arguments)
        except ToolError as exc:
            return f"ERROR:\n{exc.message}"
        return output

    def _dispatch(self, args: dict[str, Any]) -> str:
        unknown = [k for k in args if k not in _PARAMETERS]
        if unknown:
            raise ToolError(f"file_editor() got an unexpected keyword argument '{unknown[0]}'")
        command, raw_path = args.get("command"), args.get("path")
        if command is None or raw_path is None:
            missing = "command" if command is None else "path"
            raise ToolError(f"file_editor() missing 1 required keyword-only argument: '{missing}'")
        path = str(PurePosixPath(str(raw_path)))
        kind = self._validate_path(str(command), path)
        if command == "view":
            return self._view(path, kind, args.get("view_range"))
        if command == "create":
            file_text = args.get("file_text")
            if not file_text:
                raise ToolError("Parameter `file_text` is required for command: create")
            self._write(path, str(file_text))
            self._history[path].append(str(file_text))
            return f"File created successfully at: {path}"
        if command == "str_replace":
            old_str = args.get("old_str")
            if not old_str:
                raise ToolError("Parameter `old_str` is required for command: str_replace")
            new_str = args.get("new_str")
            return self._str_replace(path, str(old_str), None if new_str is None else str(new_str))
        if command == "insert":
            insert_line = args.get("insert_line")
            if insert_line is None:
                raise ToolError("Parameter `insert_line` is required for command: insert")
            new_str = args.get("new_str")
            if not new_str:
                raise ToolError("Parameter `new_str` is required for command: insert")
            return self._insert(path, _as_int(insert_line, "insert_line"), str(new_str))
        if command == "undo_edit":
            return self._undo(path)
        raise ToolError(
            f"Unrecognized command {command}. The allowed commands for the {TOOL_NAME} tool are: {', '.join(COMMANDS)}"
        )

    # -- filesystem helpers -------------------------------------------------------------
    def _sh(self, command: str) -> Any:
        return self.sandbox.run(command, timeout=self.timeout, output_limit=10_000_000)

    def _kind(self, path: str) -> str:
        q = shlex.quote(path)
        res = self._sh(f"if [ -d {q} ]; then echo dir; elif [ -e {q} ]; then echo file; else echo none; fi")
        word = (res.output or "").strip().splitlines()
        return word[-1] if word else "none"

    def _read(self, path: str) -> str:
        try:
            return self.sandbox.read_file(path)
        except InfrastructureError:
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure is the model's to see
            raise ToolError(f"Ran into {exc} while trying to read {path}") from None

    def _write(self, path: str, content: str) -> None:
        try:
            self.sandbox.write_file(path, content)
        except InfrastructureError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ToolError(f"Ran into {exc} while trying to write to {path}") from None

    def _validate_path(self, command: str, path: str) -> str:
        if not path.startswith("/"):
            raise ToolError(
                f"The path {path} is not an absolute path, it should start with `/`. Maybe you meant {path}?"
            )
        kind = self._kind(path)
        if kind == "none" and command != "create":
            raise ToolError(f"The path {path} does not exist. Please provide a valid path.")
        if kind != "none" and command == "create":
            raise ToolError(f"File already exists at: {path}. Cannot overwrite files using command `create`.")
        if kind == "dir" and command != "view":
            raise ToolError(
                f"The path {path} is a directory and only the `view` command can be used on directories"
            )
        return kind

    # -- commands -----------------------------------------------------------------------
    def _view(self, path: str, kind: str, view_range: Any) -> str:
        if kind == "dir":
            if view_range:
                raise ToolError("The `view_range` parameter is not allowed when `path` points to a directory.")
            res = self._sh(f"find {shlex.quote(path)} -maxdepth 2 -not -path '*/\\.*'")
            out = maybe_truncate(res.output or "")
            if res.exit_code != 0:
                raise ToolError(out)
            return f"Here's the files and directories up to 2 levels deep in {path}, excluding hidden items:\n{out}\n"
        content = self._read(path)
        init_line = 1
        if isinstance(view_range, str):  # the text format carries every value as a string
            try:
                view_range = json.loads(view_range)
            except ValueError:
                pass
        if view_range:
            if (
                not isinstance(view_range, list)
                or len(view_range) != 2
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in view_range)
            ):
                raise ToolError("Invalid `view_range`. It should be a list of two integers.")
            lines = content.split("\n")
            n = len(lines)
            init_line, final_line = view_range
            if init_line < 1 or init_line > n:
                raise ToolError(
                    f"Invalid `view_range`: {view_range}. It's first element `{init_line}` should be within "
                    f"the range of lines of the file: {[1, n]}"
                )
            if final_line > n:
                raise ToolError(
                    f"Invalid `view_range`: {view_range}. It's second element `{final_line}` should be smaller "
                    f"than the number of lines in the file: `{n}`"
                )
            if final_line != -1 and final_line < init_line:
                raise ToolError(
                    f"Invalid `view_range`: {view_range}. It's second element `{final_line}` should be larger "
                    f"or equal than its first `{init_line}`"
                )
            content = "\n".join(lines[init_line - 1 :] if final_line == -1 else lines[init_line - 1 : final_line])
        return make_output(content, path, init_line)

    def _str_replace(self, path: str, old_str: str, new_str: str | None) -> str:
        content = self._read(path).expandtabs()
        old_str = old_str.expandtabs()
        new_str = new_str.expandtabs() if new_str is not None else ""
        occurrences = content.count(old_str)
        if occurrences == 0:
            raise ToolError(f"No replacement was performed, old_str `{old_str}` did not appear verbatim in {path}.")
        if occurrences > 1:
            lines = [i + 1 for i, line in enumerate(content.split("\n")) if old_str in line]
            raise ToolError(
                f"No replacement was performed. Multiple occurrences of old_str `{old_str}` in lines {lines}. "
                "Please ensure it is unique"
            )
        new_content = content.replace(old_str, new_str)
        self._write(path, new_content)
        self._history[path].append(content)
        replacement_line = content.split(old_str)[0].count("\n")
        start = max(0, replacement_line - SNIPPET_LINES)
        end = replacement_line + SNIPPET_LINES + new_str.count("\n")
        snippet = "\n".join(new_content.split("\n")[start : end + 1])
        return (
            f"The file {path} has been edited. "
            + make_output(snippet, f"a snippet of {path}", start + 1)
            + "Review the changes and make sure they are as expected. Edit the file again if necessary."
        )

    def _insert(self, path: str, insert_line: int, new_str: str) -> str:
        text = self._read(path).expandtabs()
        new_str = new_str.expandtabs()
        lines = text.split("\n")
        n = len(lines)
        if insert_line < 0 or insert_line > n:
            raise ToolError(
                f"Invalid `insert_line` parameter: {insert_line}. It should be within the range of lines of the "
                f"file: {[0, n]}"
            )
        new_lines = new_str.split("\n")
        result = lines[:insert_line] + new_lines + lines[insert_line:]
        snippet = lines[max(0, insert_line - SNIPPET_LINES) : insert_line] + new_lines + lines[
            insert_line : insert_line + SNIPPET_LINES
        ]
        self._write(path, "\n".join(result))
        self._history[path].append(text)
        return (
            f"The file {path} has been edited. "
            + make_output("\n".join(snippet), "a snippet of the edited file", max(1, insert_line - SNIPPET_LINES + 1))
            + "Review the changes and make sure they are as expected (correct indentation, no duplicate lines, "
            "etc). Edit the file again if necessary."
        )

    def _undo(self, path: str) -> str:
        if not self._history[path]:
            raise ToolError(f"No edit history found for {path}.")
        old_text = self._history[path].pop()
        self._write(path, old_text)
        return f"Last edit to {path} undone successfully. {make_output(old_text, path)}"


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ToolError(f"Invalid `{name}` parameter: {value}. It should be an integer.")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ToolError(f"Invalid `{name}` parameter: {value}. It should be an integer.") from None
