"""SWE-Gym's released trajectory rows ↔ swegym.Trajectory, on the real rows."""
from __future__ import annotations

import json

import pytest

from swegym import DataError, Trajectory
from swegym.formats import swegym_rows

FILES = ["openhands-trajectories-sample.jsonl", "openhands-trajectories-mixed.jsonl"]


def _walk(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


@pytest.mark.parametrize("name", FILES)
def test_rows_round_trip_byte_for_byte(shared_data, name, tmp_path):
    lines = (shared_data / name).read_text().splitlines()
    trajs = list(swegym_rows.read_rows(shared_data / name))
    for line, traj in zip(lines, trajs):
        assert json.dumps(swegym_rows.trajectory_to_row(traj)) == line
        # ... also after a trip through Trajectory.to_dict / from_dict (a run directory row)
        again = Trajectory.from_dict(json.loads(json.dumps(traj.to_dict())))
        assert swegym_rows.trajectory_to_row(again) == json.loads(line)
    out = tmp_path / "rows.jsonl"
    assert swegym_rows.write_rows(trajs, out) == len(lines)
    assert out.read_text().splitlines() == lines


@pytest.mark.parametrize("name", FILES)
def test_nulls_are_absent_and_evaluation_is_kept(shared_data, name):
    rows = [json.loads(line) for line in (shared_data / name).read_text().splitlines()]
    for row, traj in zip(rows, swegym_rows.read_rows(shared_data / name)):
        for part in (traj.tools, [{k: v for k, v in m.items() if k != "content"} for m in traj.messages]):
            assert all(v is not None for _, v in _walk(part))
        assert all("content" in m for m in traj.messages)
        assert traj.resolved is row["resolved"]
        assert traj.evaluation["test_result"] == row["test_result"]
        assert traj.patch == row["test_result"]["git_patch"]
        assert traj.scaffold == "openhands" and traj.run_id == row["run_id"]
        assert traj.model and traj.model in row["run_id"]
        finish = next(t for t in traj.tools if t["function"]["name"] == "finish")
        assert "parameters" not in finish["function"]


def test_mixed_file_has_real_negatives(shared_data):
    trajs = list(swegym_rows.read_rows(shared_data / "openhands-trajectories-mixed.jsonl"))
    assert [t.resolved for t in trajs].count(True) == 6
    assert all(t.status in ("unresolved", "empty_patch") for t in trajs if not t.resolved)


def test_bad_rows_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instance_id": "x", "messages": [], "test_result": {}}\n{not json\n')
    with pytest.raises(DataError, match=r"bad.jsonl, row 2"):
        list(swegym_rows.read_rows(bad))
    with pytest.raises(DataError, match="missing key 'messages'"):
        swegym_rows.row_to_trajectory({"instance_id": "x", "test_result": {}})
    with pytest.raises(DataError, match="'messages'.*list"):
        swegym_rows.row_to_trajectory({"instance_id": "x", "messages": "hi", "test_result": {}})
