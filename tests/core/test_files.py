"""Atomic outputs: the target is whole or untouched, and no temporary file is left behind."""
from __future__ import annotations

import json

import pytest

from swegym.files import atomic_output, write_json_atomic, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as fh:
            fh.write("half a row")
            raise RuntimeError("killed mid-export")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_writes_replace_whole_and_create_parents(tmp_path):
    write_json_atomic(tmp_path / "a" / "b.json", {"when": tmp_path}, fsync=True)
    assert json.loads((tmp_path / "a" / "b.json").read_text()) == {"when": str(tmp_path)}
    write_text_atomic(tmp_path / "a" / "b.json", "x")
    assert (tmp_path / "a" / "b.json").read_text() == "x"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.json"]
