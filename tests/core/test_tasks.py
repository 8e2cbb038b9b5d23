"""Task loading: every source, both FAIL_TO_PASS encodings, filters, and clear errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swegym import DataError, Task, load_tasks
from swegym.demo import TASKS_DIR, materialize

SWEGYM = [sys.executable, "-m", "swegym.cli"]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SWEGYM, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_demo_has_five_varied_tasks(demo_tasks):
    assert len(demo_tasks) >= 5
    ids = {t.instance_id for t in demo_tasks}
    assert len(ids) == len(demo_tasks)
    for t in demo_tasks:
        assert t.FAIL_TO_PASS and t.PASS_TO_PASS and t.patch.startswith("diff --git") and t.test_patch
        assert len(t.base_commit) == 40
    multi_file = [t for t in demo_tasks if t.patch.count("diff --git") >= 2]
    assert multi_file, "expected a multi-file fix among the demo tasks"


def test_demo_base_commits_are_reproducible(tmp_path, monkeypatch, demo_tasks):
    """A fresh materialization (other cache dir) gives the same commit hashes."""
    monkeypatch.setenv("SWEGYM_CACHE", str(tmp_path))
    for t in demo_tasks:
        _, commit = materialize(t.repo_name)
        assert commit == t.base_commit
        assert json.loads((TASKS_DIR / t.repo_name / "task.json").read_text())["base_commit"] == commit


def test_swe_bench_rows_with_json_string_test_lists(shared_data):
    tasks = load_tasks(str(shared_data / "swe-bench-lite-sample.jsonl"))
    assert len(tasks) == 10
    raw = [json.loads(line) for line in (shared_data / "swe-bench-lite-sample.jsonl").open()]
    assert isinstance(raw[0]["FAIL_TO_PASS"], str)
    for task, row in zip(tasks, raw):
        assert task.FAIL_TO_PASS == json.loads(row["FAIL_TO_PASS"])
        assert task.PASS_TO_PASS == json.loads(row["PASS_TO_PASS"])
        assert task.environment_setup_commit == row["environment_setup_commit"]


def test_swegym_rows_with_list_test_lists(shared_data):
    tasks = load_tasks(str(shared_data / "swegym-moto-sample.jsonl"))
    assert [t.repo for t in tasks] == ["getmoto/moto"] * 3
    assert all(isinstance(t.FAIL_TO_PASS, list) and t.FAIL_TO_PASS for t in tasks)


def test_json_and_parquet_and_round_trip(tmp_path, shared_data):
    tasks = load_tasks(str(shared_data / "swegym-moto-sample.jsonl"))
    as_json = tmp_path / "tasks.json"
    as_json.write_text(json.dumps([t.to_dict() for t in tasks]))
    assert load_tasks(str(as_json)) == tasks
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "tasks.parquet"
    pq.write_table(pa.Table.from_pylist([t.to_dict() for t in tasks]), path)
    assert [t.instance_id for t in load_tasks(str(path))] == [t.instance_id for t in tasks]


def test_filters(shared_data):
    path = str(shared_data / "swe-bench-lite-sample.jsonl")
    assert {t.repo for t in load_tasks(path, repo="django/django")} == {"django/django"}
    assert {t.repo for t in load_tasks(path, repo="sympy")} == {"sympy/sympy"}
    assert len(load_tasks(path, limit=3)) == 3
    picked = load_tasks(path, instance_ids=["sympy__sympy-21614", "django__django-15902"])
    assert [t.instance_id for t in picked] == ["sympy__sympy-21614", "django__django-15902"]
    with pytest.raises(DataError, match="not found: nope"):
        load_tasks(path, instance_ids=["nope"])


@pytest.mark.parametrize(
    "row, field",
    [
        ({"repo": "a/b", "base_commit": "abc"}, "instance_id"),
        ({"instance_id": "x", "repo": "a/b", "base_commit": "abc", "FAIL_TO_PASS": "[not json"}, "FAIL_TO_PASS"),
        ({"instance_id": "x", "repo": "a/b", "base_commit": "abc", "PASS_TO_PASS": [1, 2]}, "PASS_TO_PASS"),
        ({"instance_id": "x", "repo": "a/b", "base_commit": "abc", "patch": 5}, "patch"),
    ],
)
def test_malformed_row_names_row_and_field(tmp_path, row, field):
    path = tmp_path / "bad.jsonl"
    good = {"instance_id": "ok", "repo": "a/b", "base_commit": "abc"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError) as err:
        load_tasks(str(path))
    assert err.value.row == 2 and err.value.field == field
    assert str(path) in str(err.value)


def test_cli_tasks_json_and_exit_codes(tmp_path, shared_data):
    out = cli("tasks", "-d", "demo", "--json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) >= 5
    out = cli("tasks", "-d", str(shared_data / "swe-bench-lite-sample.jsonl"), "--json")
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 10
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instance_id": "a", "repo": "o/r", "base_commit": "c"}\n{"instance_id": "b", "repo": "o/r"}\n')
    out = cli("tasks", "-d", str(bad))
    assert out.returncode == 2
    assert "row 2" in out.stderr and "base_commit" in out.stderr and str(bad) in out.stderr
    out = cli("tasks", "-d", str(tmp_path / "missing.jsonl"))
    assert out.returncode == 2 and "no such file or dataset" in out.stderr


def test_hub_name_offline_fails_fast_with_a_way_out():
    out = cli("tasks", "-d", "SWE-Gym/SWE-Gym-Lite", HF_HUB_OFFLINE="1")
    assert out.returncode == 2
    assert "local" in out.stderr and ".jsonl" in out.stderr


def test_config_file_and_env_vars(tmp_path):
    cfg = tmp_path / "swegym.yaml"
    cfg.write_text("tasks:\n  limit: 2\n")
    out = cli("--config", str(cfg), "tasks", "-d", "demo", "--json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 2
    out = cli("tasks", "-d", "demo", "--json", SWEGYM_TASKS_LIMIT="3")
    assert len(json.loads(out.stdout)) == 3


def test_every_command_help_has_an_example():
    from swegym.cli import _add_plugin_commands, cli as group

    _add_plugin_commands()

    def walk(cmd, path):
        import click

        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield path, cmd

    for path, cmd in walk(group, []):
        assert "Example" in (cmd.help or ""), f"`swegym {' '.join(path)} --help` shows no example"


def test_task_type_round_trip():
    t = Task(instance_id="i", repo="o/r", base_commit="c", FAIL_TO_PASS=["a"], extra={"x": 1})
    assert Task.from_dict(t.to_dict()) == t
