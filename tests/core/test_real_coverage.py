"""Coverage of the other SWE-Gym / SWE-bench Lite repositories: the committed real rows, their
results and their spec entries agree. Building these repositories is a benchmark
(``benchmarks/environments.py``), not a CI step: these checks only read files.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from swegym.specs import get_spec
from swegym.tasks import load_tasks

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "real"
RESULTS = ROOT / "benchmarks" / "results"
SHARED_SLICE = {"getmoto__moto.jsonl", "pallets__flask.jsonl", "psf__requests.jsonl", "pytest-dev__pytest.jsonl"}
ROW_FILES = sorted(p for p in REAL.glob("*.jsonl") if p.name not in SHARED_SLICE)


def _results() -> dict[str, dict]:
    """Newest line per instance over every results file (environments.jsonl and environments.*.jsonl)."""
    rows = [json.loads(line) for f in [RESULTS / "environments.jsonl", *sorted(RESULTS.glob("environments.*.jsonl"))]
            if f.exists() for line in f.read_text().splitlines() if line.strip()]
    return {row["instance_id"]: row for row in sorted(rows, key=lambda r: r.get("measured_at") or "")}


def test_there_are_rows_of_other_repositories():
    assert len(ROW_FILES) >= 3, [p.name for p in ROW_FILES]


@pytest.mark.parametrize("rows_file", ROW_FILES, ids=lambda p: p.stem)
def test_rows_load_have_tests_logs_and_a_valid_result(rows_file):
    tasks = load_tasks(str(rows_file))
    results = _results()
    assert tasks
    for task in tasks:
        assert rows_file.name.split(".")[0] == task.repo.replace("/", "__")  # owner__name[.part].jsonl
        assert task.FAIL_TO_PASS, task.instance_id
        spec = get_spec(task.repo, task.version)
        assert spec.source in ("SWE-Gym", "SWE-bench"), (task.instance_id, spec.source)
        result = results.get(task.instance_id)
        assert result and result["valid"] and result["gold"] == "resolved" and result["empty"] == "unresolved", task.instance_id
        for kind, marker in (("gold", "resolved"), ("empty", "unresolved")):
            log = (REAL / "logs" / f"{task.instance_id}.{kind}.log").read_text()
            assert ">>>>> Start Test Output" in log and ">>>>> End Test Output" in log, (task.instance_id, kind)


def test_invalid_results_name_their_cause():
    for iid, row in _results().items():
        if not row.get("valid"):
            assert row.get("reason"), iid


def test_offline_spec_entries():
    """Entries changed so that they build without conda and without GitHub."""
    dask_old, dask_new = get_spec("dask/dask", "2.13"), get_spec("dask/dask", "2024.4")
    assert "numpy<1.24" in dask_old.install and ".[array,test]" in dask_new.install
    assert "pytest-xdist" in dask_new.pip_packages  # the test command passes -n0
    pyd2, pyd1 = get_spec("pydantic/pydantic", "2.7"), get_spec("pydantic/pydantic", "1.8")
    assert "make install" not in pyd2.install and "pdm install --group testing" in pyd2.install and "pdm add" not in pyd2.install
    assert pyd1.install == "make install"
