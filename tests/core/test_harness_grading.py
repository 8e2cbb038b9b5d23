"""Grading semantics, test-command construction, predictions and report files (no container)."""
from __future__ import annotations

import json
import threading

import pytest

from swegym import DataError, EvalResult, Task
from swegym.harness import FULL, NO, PARTIAL, ReportWriter, grade, load_predictions, load_report
from swegym.harness.testspec import make_eval_spec, modified_files, mypy_cases, patch_files

F = ["t::a", "t::b"]
P = ["t::c", "t::d"]


def test_resolved_needs_every_listed_test_passing():
    ok = {"t::a": "PASSED", "t::b": "XFAIL", "t::c": "PASSED", "t::d": "PASSED", "t::other": "FAILED"}
    g = grade(ok, F, P, exit_code=1)
    assert g.resolution == FULL and g.resolved
    assert g.tests == {"t::a": "PASSED", "t::b": "XFAIL", "t::c": "PASSED", "t::d": "PASSED"}


@pytest.mark.parametrize("f2p_b", ["FAILED", "ERROR", "SKIPPED", None])
def test_fail_to_pass_not_passing_fails(f2p_b):
    status = {"t::a": "PASSED", "t::c": "PASSED", "t::d": "PASSED"}
    if f2p_b:
        status["t::b"] = f2p_b
    g = grade(status, F, P)
    assert g.resolution == PARTIAL and g.f2p_failure == ["t::b"]
    assert (g.missing == ["t::b"]) is (f2p_b is None)


def test_pass_to_pass_tolerates_skipped_but_not_failures():
    base = {"t::a": "PASSED", "t::b": "PASSED", "t::c": "PASSED"}
    assert grade({**base, "t::d": "SKIPPED"}, F, P).resolution == FULL
    for bad in ("FAILED", "ERROR"):
        assert grade({**base, "t::d": bad}, F, P).resolution == NO
    assert grade(base, F, P).resolution == NO  # missing P2P test


def test_partial_only_when_pass_to_pass_intact():
    assert grade({"t::a": "PASSED", "t::c": "PASSED", "t::d": "FAILED"}, F, P).resolution == NO
    assert grade({}, F, P).resolution == NO


def test_nonzero_exit_without_a_failing_test_is_not_trusted():
    everything = {n: "PASSED" for n in F + P}
    assert grade(everything, F, P, exit_code=0).resolved
    crashed = grade(everything, F, P, exit_code=139)
    assert not crashed.resolved and not crashed.trusted
    assert grade({**everything, "t::x": "ERROR"}, F, P, exit_code=1).resolved


def _task(**kw) -> Task:
    base = dict(instance_id="o__r-1", repo="o/r", base_commit="abc", version="1.0")
    base.update(kw)
    return Task(**base)


TEST_PATCH = """diff --git a/tests/test_a.py b/tests/test_a.py
--- a/tests/test_a.py
+++ b/tests/test_a.py
@@ -1 +1,2 @@
 x
+y
diff --git a/tests/test_new.py b/tests/test_new.py
new file mode 100644
--- /dev/null
+++ b/tests/test_new.py
@@ -0,0 +1 @@
+z
diff --git a/tests/data/fixture.json b/tests/data/fixture.json
--- a/tests/data/fixture.json
+++ b/tests/data/fixture.json
@@ -1 +1 @@
-{}
+{"a": 1}
"""


def test_test_command_directives_and_reset_files():
    spec = make_eval_spec(_task(test_patch=TEST_PATCH), test_cmd="pytest -rA")
    assert spec.test_command == "pytest -rA tests/test_a.py tests/test_new.py"
    assert spec.reset_files == ["tests/test_a.py", "tests/data/fixture.json"]  # new files are not reset
    assert spec.reset_command("abc") == "git checkout abc -- tests/test_a.py tests/data/fixture.json"
    assert patch_files(TEST_PATCH)[-1] == "tests/data/fixture.json"
    assert modified_files("") == []


def test_django_directives_are_modules():
    patch = TEST_PATCH.replace("tests/test_a.py", "tests/admin_views/tests.py")
    spec = make_eval_spec(_task(repo="django/django", test_patch=patch), test_cmd="./tests/runtests.py")
    assert spec.directives == ["admin_views.tests", "test_new"]


def test_mypy_selects_cases_with_k():
    patch = ("diff --git a/test-data/unit/check-x.test b/test-data/unit/check-x.test\n--- a/test-data/unit/check-x.test\n"
             "+++ b/test-data/unit/check-x.test\n@@ -1 +1,3 @@\n [case testOld]\n+[case testNew]\n+[case testSkipped-skip]\n")
    assert mypy_cases(patch) == ["testOld", "testNew", "testSkipped-skip"]
    spec = make_eval_spec(_task(repo="python/mypy", test_patch=patch), test_cmd="pytest -n0 -rA -k")
    assert spec.test_command == "pytest -n0 -rA -k 'testOld or testNew or testSkipped-skip'"


def test_predictions_json_and_jsonl(tmp_path):
    rows = [{"instance_id": "a", "model_patch": "diff", "model_name_or_path": "m"},
            {"instance_id": "b", "model_patch": None, "model_name_or_path": "m"}]
    (tmp_path / "p.json").write_text(json.dumps(rows))
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for name in ("p.json", "p.jsonl"):
        preds = load_predictions(tmp_path / name)
        assert preds["a"].model_patch == "diff" and preds["b"].model_patch == ""
    (tmp_path / "bad.jsonl").write_text('{"instance_id": "a", "model_patch": 3}\n')
    with pytest.raises(DataError, match="bad.jsonl, row 1, field 'model_patch'"):
        load_predictions(tmp_path / "bad.jsonl")
    (tmp_path / "dup.jsonl").write_text("\n".join(json.dumps(r) for r in rows + rows[:1]))
    with pytest.raises(DataError, match="duplicate"):
        load_predictions(tmp_path / "dup.jsonl")


def test_report_writer_is_atomic_resumable_and_threadsafe(tmp_path):
    writer = ReportWriter(tmp_path)
    results = [EvalResult(f"org/i-{n}", status, tests={"t": "PASSED"}, log=f"log {n}")
               for n, status in enumerate(["resolved", "unresolved", "error", "empty_patch"] * 5)]
    threads = [threading.Thread(target=writer.add, args=(r.instance_id, r, "diff")) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.flush()
    report = load_report(tmp_path)
    assert report["summary"] == {"total": 20, "resolved": 5, "unresolved": 5, "empty_patch": 5,
                                 "patch_apply_failed": 0, "test_timeout": 0, "error": 5}
    row = report["instances"]["org/i-0"]
    assert row["status"] == "resolved" and row["resolved"] is True and row["tests"] == {"t": "PASSED"}
    assert (tmp_path / "logs" / "org_i-0" / "test_output.txt").read_text() == "log 0"
    assert (tmp_path / "logs" / "org_i-0" / "patch.diff").read_text() == "diff"
    again = ReportWriter(tmp_path)
    assert len(again.finished()) == 15  # errors are retried on resume
    assert not list(tmp_path.glob(".report.json.*"))
    (tmp_path / "report.json").write_text("{oops")
    with pytest.raises(DataError, match="report.json"):
        load_report(tmp_path)


def test_report_rewrites_back_off_and_flush_writes_the_rest(tmp_path, monkeypatch):
    """A long run must not rewrite a growing report.json after every instance (quadratic)."""
    import swegym.harness.ledger as report_module

    writes = []
    atomic = report_module.write_text_atomic
    monkeypatch.setattr(report_module, "write_text_atomic",
                        lambda path, text, **kw: writes.append(len(text)) or atomic(path, text, **kw))
    monkeypatch.setattr(report_module, "REWRITE_BACKOFF", 10 ** 9)  # as if every rewrite were very slow
    writer = ReportWriter(tmp_path)
    for n in range(50):
        writer.add(f"org/i-{n}", EvalResult(f"org/i-{n}", "resolved", tests={"t": "PASSED"}, log=""))
    assert len(writes) == 1 and load_report(tmp_path)["summary"]["total"] == 1  # the first add writes
    assert (tmp_path / "logs" / "org_i-49" / "test_output.txt").exists()  # logs are never held back
    writer.flush()
    writer.flush()  # nothing new: no rewrite
    assert len(writes) == 2 and load_report(tmp_path)["summary"]["total"] == 50
    monkeypatch.setattr(report_module, "REWRITE_BACKOFF", 0)
    fresh = ReportWriter(tmp_path / "small")
    for n in range(5):
        fresh.add(f"org/j-{n}", EvalResult(f"org/j-{n}", "unresolved", log=""))
        assert load_report(tmp_path / "small")["summary"]["total"] == n + 1  # cheap rewrites: every add


def test_real_tasks_get_swebench_test_commands(shared_data):
    """The commands SWE-bench / SWE-Gym run for real instances (spec table + directives)."""
    from swegym import load_tasks

    lite = {t.instance_id: make_eval_spec(t) for t in load_tasks(str(shared_data / "swe-bench-lite-sample.jsonl"))}
    moto = {t.instance_id: make_eval_spec(t) for t in load_tasks(str(shared_data / "swegym-moto-sample.jsonl"))}
    assert lite["django__django-12983"].test_command == (
        "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 utils_tests.test_text")
    assert lite["sympy__sympy-21614"].test_command == (
        "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose sympy/core/tests/test_kind.py")
    assert lite["pallets__flask-4992"].test_command == "pytest -rA tests/test_config.py"
    assert lite["pallets__flask-4992"].reset_files == ["tests/test_config.py"]
    assert moto["getmoto__moto-6190"].test_command == "pytest -n0 -rA tests/test_s3/test_server.py"
