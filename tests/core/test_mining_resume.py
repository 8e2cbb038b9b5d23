"""The mining loop on small git repositories made here, its test runs replaced by scripted outcomes
(the real runs are tests/core/test_mining_docker.py): what ``--limit`` counts, resuming without
duplicates (tasks.jsonl and mine-report.json agree), dropping a candidate without FAIL_TO_PASS,
and a partial-clone mirror reported as an error naming the files it lacks."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from swegym.mining import mine_tasks
from swegym.mining import pipeline
from swegym.mining.execute import Execution
from swegym.mining.execute import TestOutcome as Outcome

from mining_repos import commit, git, make_history

REPO = "acme/calc"
F2P = Outcome(fail_to_pass=["tests/test_calc.py::test_new"], pass_to_pass=["tests/test_calc.py::test_add"],
                  passing_after=2)
NO_F2P = Outcome(pass_to_pass=["tests/test_calc.py::test_add"], passing_after=1)


class Script:
    """Stands in for :func:`swegym.mining.execute.execute`: an outcome per PR number, calls counted."""

    def __init__(self, outcomes: dict[int, object]) -> None:
        self.outcomes, self.calls = outcomes, []

    def __call__(self, task, runtime, **kwargs) -> Execution:
        number = int(task.instance_id.rsplit("-", 1)[1])
        self.calls.append(number)
        what = self.outcomes[number]
        if what == "error":
            return Execution(None, 1.0, 0.0, "infrastructure error on the before run: daemon gone", infrastructure=True)
        return Execution(what, 1.0, 2.0)


@pytest.fixture
def history(tmp_path):
    root = tmp_path / "calc"
    make_history(root)  # candidates with code and tests, newest first: #7, #5, #3
    return root


def _mine(root, out, script, monkeypatch, **kw):
    monkeypatch.setattr(pipeline, "execute", script)
    return mine_tasks(REPO, out, source=root, runtime=object(), github=False, progress=False, **kw)


def _ids(out):
    return [json.loads(line)["instance_id"] for line in out.read_text().splitlines()]


def test_limit_counts_decided_candidates_and_resume_skips_them(history, tmp_path, monkeypatch):
    out = tmp_path / "mined" / "tasks.jsonl"
    # #7's new test already passes (dropped), #5 hits an infrastructure error (not counted), #3 is kept
    first = Script({7: NO_F2P, 5: "error", 3: F2P})
    res = _mine(history, out, first, monkeypatch, limit=2)
    assert first.calls == [7, 5, 3] and res.examined == 3
    report = json.loads(res.report_path.read_text())["candidates"]
    assert report["acme__calc-7"]["decision"] == "dropped"
    assert report["acme__calc-7"]["reason"].startswith("no FAIL_TO_PASS: no test fails before the fix")
    assert report["acme__calc-5"]["decision"] == "error" and report["acme__calc-3"]["decision"] == "kept"
    assert _ids(out) == ["acme__calc-3"]
    assert res.summary["kept"] == 1 and res.summary["dropped"] == 1 and res.summary["error"] == 1

    # rerun, same limit: #7 counts as decided, #5 is retried and decided: limit reached, #3 untouched
    second = Script({7: NO_F2P, 5: F2P, 3: F2P})
    res = _mine(history, out, second, monkeypatch, limit=2)
    assert second.calls == [5] and res.examined == 1
    assert _ids(out) == ["acme__calc-3", "acme__calc-5"]

    # nothing left to decide: no run at all
    third = Script({})
    res = _mine(history, out, third, monkeypatch, limit=3)
    assert third.calls == [] and res.examined == 0 and res.summary["kept"] == 2


def test_limit_one_decides_one(history, tmp_path, monkeypatch):
    script = Script({7: F2P, 5: F2P, 3: F2P})
    res = _mine(history, tmp_path / "t.jsonl", script, monkeypatch, limit=1, workers=2)
    assert script.calls == [7] and res.summary["candidates"] == 1


def test_resume_removes_duplicate_rows_and_recovers_lost_report_entries(history, tmp_path, monkeypatch):
    out = tmp_path / "tasks.jsonl"
    _mine(history, out, Script({7: F2P, 5: NO_F2P, 3: F2P}), monkeypatch)
    assert _ids(out) == ["acme__calc-7", "acme__calc-3"]
    # an older run's resume bug wrote #7 twice; a kill between the two writes lost #3's report entry
    lines = out.read_text().splitlines()
    out.write_text("\n".join([lines[0], lines[0], lines[1]]) + "\n")
    report_path = tmp_path / "mine-report.json"
    data = json.loads(report_path.read_text())
    del data["candidates"]["acme__calc-3"]
    report_path.write_text(json.dumps(data))

    script = Script({7: F2P, 5: NO_F2P, 3: F2P})
    res = _mine(history, out, script, monkeypatch)
    assert script.calls == []
    assert _ids(out) == ["acme__calc-7", "acme__calc-3"]
    report = json.loads(report_path.read_text())
    assert report["candidates"]["acme__calc-3"]["decision"] == "kept"
    assert report["summary"]["kept"] == 2 and report["summary"]["dropped"] == 1
    assert len(res.kept) == 2


def test_listing_then_mining_keeps_one_row_per_instance(history, tmp_path, monkeypatch):
    out = tmp_path / "tasks.jsonl"
    mine_tasks(REPO, out, source=history, prs=[3], github=False, run_tests=False, progress=False)
    _mine(history, out, Script({3: F2P}), monkeypatch, prs=[3])
    _mine(history, out, Script({}), monkeypatch, prs=[3])  # the rerun tidies the file
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["instance_id"] for r in rows] == ["acme__calc-3"] and rows[0]["FAIL_TO_PASS"] == F2P.fail_to_pass


def _partial_clone(src: Path, tmp_path: Path) -> Path:
    """A bare clone without blobs over 1,000 bytes and no reachable origin, like a snapshot mirror."""
    git(src, "config", "uploadpack.allowfilter", "true")
    partial = tmp_path / "partial.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--filter=blob:limit=1000", f"file://{src}", str(partial)],
                   check=True, capture_output=True)
    git(partial, "remote", "set-url", "origin", str(tmp_path / "gone"))  # offline: no lazy fetch possible
    return partial


def test_partial_clone_is_an_error_naming_the_missing_files(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    commit(src, "initial", {"pkg/core.py": "def f():\n    return 1\n", "tests/test_core.py": "def test_f():\n    pass\n",
                            "pkg/aws_managed_policies.py": "POLICIES = " + repr("x" * 5000) + "\n",
                            "docs/img/demo.gif": "GIF89a" + "x" * 5000},
           "2023-01-01T10:00:00+00:00")
    commit(src, "Fix f (#2)", {"pkg/core.py": "def f():\n    return 2\n",
                               "tests/test_core.py": "from pkg.core import f\n\n\ndef test_f():\n    assert f() == 2\n"},
           "2023-01-02T10:00:00+00:00")
    commit(src, "Fix f again (#3)", {"pkg/core.py": "def f():\n    return 3\n",
                                     "tests/test_core.py": "from pkg.core import f\n\n\ndef test_f():\n    assert f() == 3\n"},
           "2023-01-03T10:00:00+00:00")
    partial = _partial_clone(src, tmp_path)
    script = Script({2: F2P, 3: F2P})
    # errors do not count as decided, but a broken mirror must not walk all history: --limit caps them too
    res = _mine(partial, tmp_path / "capped" / "t.jsonl", script, monkeypatch, limit=1)
    assert list(json.loads(res.report_path.read_text())["candidates"]) == ["acme__calc-3"]
    res = _mine(partial, tmp_path / "t.jsonl", script, monkeypatch)
    assert sorted(json.loads(res.report_path.read_text())["candidates"]) == ["acme__calc-2", "acme__calc-3"]
    entry = json.loads(res.report_path.read_text())["candidates"]["acme__calc-2"]
    assert script.calls == []
    assert entry["decision"] == "error"
    assert "lacks file contents" in entry["reason"] and "pkg/aws_managed_policies.py" in entry["reason"]
    assert "demo.gif" not in entry["reason"]  # media a mirror left out are named only when code is missing too
    assert not (tmp_path / "t.jsonl").exists() or (tmp_path / "t.jsonl").read_text() == ""

    # the full repository mines the same candidate
    script = Script({2: F2P, 3: F2P})
    res = _mine(src, tmp_path / "full.jsonl", script, monkeypatch)
    assert script.calls == [3, 2] and res.summary["kept"] == 2


def test_a_mirror_lacking_only_media_still_mines(tmp_path, monkeypatch):
    """Snapshot mirrors drop their largest blobs; a missing gif cannot change a test, a missing module can."""
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    commit(src, "initial", {"pkg/core.py": "def f():\n    return 1\n", "tests/test_core.py": "def test_f():\n    pass\n",
                            "docs/img/demo.gif": "GIF89a" + "x" * 5000},
           "2023-01-01T10:00:00+00:00")
    commit(src, "Fix f (#2)", {"pkg/core.py": "def f():\n    return 2\n",
                               "tests/test_core.py": "from pkg.core import f\n\n\ndef test_f():\n    assert f() == 2\n"},
           "2023-01-02T10:00:00+00:00")
    partial = _partial_clone(src, tmp_path)
    script = Script({2: F2P})
    res = _mine(partial, tmp_path / "t.jsonl", script, monkeypatch)
    entry = json.loads(res.report_path.read_text())["candidates"]["acme__calc-2"]
    assert script.calls == [2] and entry["decision"] == "kept"
    assert entry["absent_files"] == ["docs/img/demo.gif"]


class ScriptedHarness:
    """Stands in for :func:`swegym.harness.evaluate` under the real :func:`execute`: per PR, the status
    maps of the runs in the order execute makes them (before-1, after-1, before-2, after-2)."""

    def __init__(self, runs: dict[int, list[dict[str, str]]]) -> None:
        self.runs = {n: list(r) for n, r in runs.items()}
        self.patches: list[bool] = []

    def __call__(self, task, patch, runtime, **kwargs):
        from swegym.types import EvalResult

        assert not task.FAIL_TO_PASS and kwargs.get("run_empty")  # the probe: every parsed test reported
        self.patches.append(patch is not None)
        return EvalResult(task.instance_id, "unresolved", self.runs[int(task.instance_id.rsplit("-", 1)[1])].pop(0),
                          log="log", test_duration_s=0.5)


def test_flaky_tests_left_out_and_candidates_without_fail_to_pass_dropped(history, tmp_path, monkeypatch):
    import swegym.harness

    harness = ScriptedHarness({
        # #7: its only new test passes in one "after" run and fails in the other: flaky, so no FAIL_TO_PASS
        7: [{"t::old": "PASSED"}, {"t::old": "PASSED", "t::new": "PASSED"},
            {"t::old": "PASSED"}, {"t::old": "PASSED", "t::new": "FAILED"}],
        # #5: t::fix fails before and passes after (twice); t::flip flips between the before runs
        5: [{"t::fix": "FAILED", "t::keep": "PASSED", "t::flip": "PASSED"},
            {"t::fix": "PASSED", "t::keep": "PASSED", "t::flip": "PASSED"},
            {"t::fix": "FAILED", "t::keep": "PASSED", "t::flip": "FAILED"},
            {"t::fix": "PASSED", "t::keep": "PASSED", "t::flip": "PASSED"}],
    })
    monkeypatch.setattr(swegym.harness, "evaluate", harness)
    out = tmp_path / "tasks.jsonl"
    res = mine_tasks(REPO, out, source=history, prs=[5, 7], runtime=object(), github=False, progress=False)
    assert harness.patches == [False, True, False, True] * 2  # before = test_patch only, after = + patch
    report = json.loads(res.report_path.read_text())["candidates"]
    assert report["acme__calc-7"]["decision"] == "dropped" and report["acme__calc-7"]["flaky"] == ["t::new"]
    assert report["acme__calc-7"]["reason"].startswith("no FAIL_TO_PASS")
    row = json.loads(out.read_text())
    assert row["instance_id"] == "acme__calc-5"
    assert row["FAIL_TO_PASS"] == ["t::fix"] and row["PASS_TO_PASS"] == ["t::keep"]
    assert report["acme__calc-5"]["flaky"] == ["t::flip"]
