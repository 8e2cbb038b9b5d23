"""str_replace_editor texts (openhands-aci 0.1 / OpenHands 0.13) on real files in a temp dir.

The editor only needs run/read_file/write_file; here they are a real bash and the real
filesystem of the host (paths under tmp_path), so this checks the pure text logic. The
Docker end-to-end tests drive the same editor inside a container.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from swegym import CommandResult
from swegym_openhands.editor import MAX_RESPONSE_LEN, TRUNCATED_MESSAGE, Editor
from swegym_openhands.observations import editor_observation


class HostShell:
    def run(self, command, timeout=60.0, output_limit=30_000):
        p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=timeout)
        return CommandResult(exit_code=p.returncode, output=p.stdout + p.stderr)

    def read_file(self, path):
        return Path(path).read_text()

    def write_file(self, path, content):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)


@pytest.fixture
def ed():
    return Editor(HostShell())


def test_view_file_is_cat_n(ed, tmp_path):
    f = tmp_path / "a.py"
    f.write_text("x = 1\n\ty = 2\n")
    out = ed({"command": "view", "path": str(f)})
    assert out == f"Here's the result of running `cat -n` on {f}:\n     1\tx = 1\n     2\t        y = 2\n     3\t\n"
    # what the model sees: stripped, with the observation header
    assert editor_observation(out) == f"OBSERVATION:\nHere's the result of running `cat -n` on {f}:\n     1\tx = 1\n     2\t        y = 2\n     3"


def test_view_range_and_its_errors_match_rows(ed, tmp_path):
    f = tmp_path / "m.py"
    f.write_text("\n".join(f"line{i}" for i in range(1, 11)) + "\n")  # 11 lines counting the last empty one
    assert ed({"command": "view", "path": str(f), "view_range": [2, 3]}).endswith("     2\tline2\n     3\tline3\n")
    assert ed({"command": "view", "path": str(f), "view_range": [10, -1]}).endswith("    10\tline10\n    11\t\n")
    assert ed({"command": "view", "path": str(f), "view_range": [0, 40]}) == (
        "ERROR:\nInvalid `view_range`: [0, 40]. It's first element `0` should be within the range of lines of the file: [1, 11]"
    )
    assert "It's second element `40` should be smaller than the number of lines in the file: `11`" in ed(
        {"command": "view", "path": str(f), "view_range": [1, 40]}
    )
    assert "should be larger or equal than its first `5`" in ed({"command": "view", "path": str(f), "view_range": [5, 2]})
    assert ed({"command": "view", "path": str(f), "view_range": "[2, 2]"}).endswith("     2\tline2\n")
    assert ed({"command": "view", "path": str(tmp_path), "view_range": [0, -1]}) == (
        "ERROR:\nThe `view_range` parameter is not allowed when `path` points to a directory."
    )


def test_view_directory_two_levels_without_hidden(ed, tmp_path):
    (tmp_path / "pkg" / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "pkg" / "mod.py").write_text("")
    (tmp_path / ".git").mkdir()
    (tmp_path / "pkg" / ".hidden").write_text("")
    out = ed({"command": "view", "path": str(tmp_path)})
    head, body = out.split("\n", 1)
    assert head == f"Here's the files and directories up to 2 levels deep in {tmp_path}, excluding hidden items:"
    listed = set(body.strip().split("\n"))
    assert listed == {str(tmp_path), f"{tmp_path}/pkg", f"{tmp_path}/pkg/mod.py", f"{tmp_path}/pkg/sub"}


def test_create_str_replace_insert_undo(ed, tmp_path):
    f = tmp_path / "new" / "f.py"
    assert ed({"command": "create", "path": str(f), "file_text": "a\nb\nc\n"}) == f"File created successfully at: {f}"
    assert ed({"command": "create", "path": str(f), "file_text": "x"}) == (
        f"ERROR:\nFile already exists at: {f}. Cannot overwrite files using command `create`."
    )
    out = ed({"command": "str_replace", "path": str(f), "old_str": "b\n", "new_str": "B\nB2\n"})
    assert f.read_text() == "a\nB\nB2\nc\n"
    assert out == (
        f"The file {f} has been edited. Here's the result of running `cat -n` on a snippet of {f}:\n"
        "     1\ta\n     2\tB\n     3\tB2\n     4\tc\n     5\t\n"
        "Review the changes and make sure they are as expected. Edit the file again if necessary."
    )
    out = ed({"command": "insert", "path": str(f), "insert_line": 1, "new_str": "ins"})
    assert f.read_text() == "a\nins\nB\nB2\nc\n"
    assert out.startswith(f"The file {f} has been edited. Here's the result of running `cat -n` on a snippet of the edited file:\n     1\ta\n     2\tins\n")
    assert out.endswith("Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). Edit the file again if necessary.")
    assert ed({"command": "insert", "path": str(f), "insert_line": 99, "new_str": "z"}) == (
        "ERROR:\nInvalid `insert_line` parameter: 99. It should be within the range of lines of the file: [0, 6]"
    )
    out = ed({"command": "undo_edit", "path": str(f)})
    assert f.read_text() == "a\nB\nB2\nc\n"
    assert out.startswith(f"Last edit to {f} undone successfully. Here's the result of running `cat -n` on {f}:\n     1\ta\n")
    ed({"command": "undo_edit", "path": str(f)})
    assert f.read_text() == "a\nb\nc\n"
    ed({"command": "undo_edit", "path": str(f)})  # the create itself is in the history, as in the original
    assert ed({"command": "undo_edit", "path": str(f)}) == f"ERROR:\nNo edit history found for {f}."


def test_str_replace_needs_a_unique_exact_match(ed, tmp_path):
    f = tmp_path / "c.py"
    f.write_text("    continue\nx\n    continue\n")
    assert ed({"command": "str_replace", "path": str(f), "old_str": "    continue", "new_str": "pass"}) == (
        "ERROR:\nNo replacement was performed. Multiple occurrences of old_str `    continue` in lines [1, 3]. Please ensure it is unique"
    )
    assert ed({"command": "str_replace", "path": str(f), "old_str": "nope", "new_str": "y"}) == (
        f"ERROR:\nNo replacement was performed, old_str `nope` did not appear verbatim in {f}."
    )
    assert f.read_text() == "    continue\nx\n    continue\n"


@pytest.mark.parametrize(
    "args, message",
    [
        ({"command": "view", "path": "rel/x.py"}, "The path rel/x.py is not an absolute path, it should start with `/`. Maybe you meant rel/x.py?"),
        ({"command": "view", "path": "/no/such/file"}, "The path /no/such/file does not exist. Please provide a valid path."),
        ({"command": "create", "path": "/tmp/never-created-x.py"}, "Parameter `file_text` is required for command: create"),
        ({"command": "frobnicate", "path": "/etc/passwd"}, "Unrecognized command frobnicate. The allowed commands for the str_replace_editor tool are: view, create, str_replace, insert, undo_edit"),
        ({"command": "view"}, "file_editor() missing 1 required keyword-only argument: 'path'"),
        ({"command": "view", "path": "/tmp", "colour": "red"}, "file_editor() got an unexpected keyword argument 'colour'"),
    ],
)
def test_error_texts(ed, args, message):
    assert ed(args) == "ERROR:\n" + message


def test_directory_only_viewable(ed, tmp_path):
    assert ed({"command": "str_replace", "path": str(tmp_path), "old_str": "a"}) == (
        f"ERROR:\nThe path {tmp_path} is a directory and only the `view` command can be used on directories"
    )


def test_long_file_is_clipped_at_16000_chars(ed, tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("y" * 40 + "\n" + "x" * 20_000)
    out = ed({"command": "view", "path": str(f)})
    assert TRUNCATED_MESSAGE in out
    body = out.split(":\n", 1)[1]
    assert len(body) < MAX_RESPONSE_LEN + len(TRUNCATED_MESSAGE) + 40


def test_editor_texts_match_row_observations(shared_data):
    """Every editor error text seen in the rows is one our editor produces (same template)."""
    rows = [json.loads(l) for l in (shared_data / "openhands-trajectories-sample.jsonl").read_text().splitlines()]
    errors = {m["content"] for r in rows for m in r["messages"] if m["role"] == "tool" and m["content"].startswith("OBSERVATION:\nERROR:")}
    assert "OBSERVATION:\nERROR:\nThe `view_range` parameter is not allowed when `path` points to a directory." in errors
    assert (
        "OBSERVATION:\nERROR:\nInvalid `view_range`: [0, 40]. It's first element `0` should be within the range of lines of the file: [1, 1115]"
        in errors
    )
