"""Fuzz (issue 20): random and adversarial strings in every row and prediction field, through
load → build (the host-side part) → eval, find no host side effect and no traceback.

The load/validation part runs many examples (pure Python, fast); the parts that touch git and
Docker run a handful, so the file stays CI-fast. Every payload that could run a command tries to
create MARKER on the host; the test fails if it ever exists.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swegym
from swegym import DataError, load_tasks
from swegym.types import EVAL_STATUSES

MARKER = Path(tempfile.gettempdir()) / "swegym-fuzz-pwned"
PAYLOADS = [
    f"$(touch {MARKER})", f"`touch {MARKER}`", f"; touch {MARKER}", f"| touch {MARKER}", f"&& touch {MARKER} #",
    f"HEAD^{{/.*|$(touch {MARKER})}}", f"--upload-pack=touch {MARKER}", f"-c core.sshCommand=touch {MARKER}",
    f"x\ntouch {MARKER}", f"' ; touch {MARKER}; '", f'" ; touch {MARKER}; "', "\ud83d", "\udcff", "\x00", "\x1b[2J",
    "../../../../etc/passwd", "-rf", "HEAD", "main", "", " ", "a" * 5000, "\u202e", "🙂", "[" * 50, "{}", "null",
]
FIELD = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=60), st.from_regex(r"[0-9a-f]{40}", fullmatch=True),
                  st.builds(lambda a, b: a + b, st.sampled_from(PAYLOADS), st.text(max_size=10)))
VALUE = st.one_of(FIELD, st.integers(), st.none(), st.lists(FIELD, max_size=3), st.booleans())
TEST_PATCH = st.one_of(FIELD, st.builds(lambda name: f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n"
                                                     f"@@ -1 +1 @@\n-a\n+b\n", FIELD))
ROW = st.fixed_dictionaries(
    {"instance_id": st.one_of(FIELD, st.just("o__r-1")), "repo": st.one_of(FIELD, st.just("o/r")),
     "base_commit": st.one_of(FIELD, st.just("a" * 40))},
    optional={"version": st.one_of(FIELD, st.just("1.0"), st.floats(allow_nan=True)),
              "environment_setup_commit": VALUE, "patch": VALUE, "test_patch": TEST_PATCH,
              "problem_statement": VALUE, "hints_text": VALUE, "created_at": VALUE,
              "FAIL_TO_PASS": VALUE, "PASS_TO_PASS": VALUE, "extra_column": VALUE})
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _no_marker():
    MARKER.unlink(missing_ok=True)
    yield
    assert not MARKER.exists(), "a fuzzed string ran a command on the host"


def _load_one(tmp: Path, row: dict) -> swegym.Task | None:
    path = tmp / "tasks.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=True, default=str) + "\n", encoding="ascii")
    try:
        (task,) = load_tasks(str(path))
    except DataError as exc:
        assert "row 1" in str(exc) or str(path) in str(exc)
        return None
    return task


@FAST
@given(row=ROW)
def test_rows_load_or_fail_cleanly_and_commands_stay_quoted(row):
    from swegym.harness.testspec import make_eval_spec
    from swegym.validation import COMMIT, REPO
    from swegym_docker.images import _strip_history_lines

    with tempfile.TemporaryDirectory() as tmp:
        task = _load_one(Path(tmp), row)
    assert not MARKER.exists()
    if task is None:
        return
    assert COMMIT.fullmatch(task.base_commit) and REPO.fullmatch(task.repo)
    spec = make_eval_spec(task, test_cmd="pytest -rA")
    for command in (spec.test_command, spec.reset_command(task.base_commit) or "true",
                    *_strip_history_lines(task.base_commit)):
        words = shlex.split(command)  # well-formed shell words: nothing unbalanced leaks through
        assert not any(w.startswith("$(") or w.startswith("`") for w in words[:1])
    for directive in spec.directives:
        assert len(shlex.split(directive)) == 1  # each test file stays one argument


@FAST
@given(patch=VALUE, iid=FIELD, name=VALUE)
def test_predictions_load_and_are_recorded_safely(patch, iid, name):
    from swegym.harness import ReportWriter, load_predictions, load_report
    from swegym.orchestration import RunDir
    from swegym.types import EvalResult

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preds.json"
        path.write_text(json.dumps([{"instance_id": iid, "model_patch": patch, "model_name_or_path": name}]))
        try:
            preds = load_predictions(path)
        except DataError as exc:
            assert str(path) in str(exc)
            return
        (pred,) = preds.values()
        writer = ReportWriter(Path(tmp) / "run")
        writer.add(pred.instance_id, EvalResult(pred.instance_id, "unresolved", log=pred.model_patch), pred.model_patch)
        writer.flush()
        assert pred.instance_id in load_report(Path(tmp) / "run")["instances"]
        rd = RunDir(Path(tmp) / "run")
        rd.append({"instance_id": pred.instance_id, "patch": pred.model_patch, "metadata": {"sample_index": 0}})
        assert [r["patch"] for r in rd.rows()] == [pred.model_patch]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> tuple[Path, str]:
    src = tmp_path_factory.mktemp("fuzz-mirror")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=src, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True).stdout.strip()
    return src, head


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commit=st.one_of(FIELD, st.just("HEAD")))
def test_build_from_a_local_mirror_never_runs_the_commit(mirror, tmp_path, commit):
    """The host-side part of `images build`: clone + checkout of a local mirror, with a fuzzed commit."""
    from swegym_docker.images import _prepare_local_repo

    src, head = mirror
    target = tmp_path / f"t{abs(hash(commit))}"
    try:
        _prepare_local_repo(str(src), commit, target)
    except swegym.SwegymError:
        return
    assert commit in head  # only a real (abbreviated) commit id gets through


@pytest.mark.docker
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(patch=st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=200)),
       header=st.sampled_from(["", "diff --git a/calc/stats.py b/calc/stats.py\n--- a/calc/stats.py\n"
                                   "+++ b/calc/stats.py\n@@ -1 +1 @@\n"]))
def test_fuzzed_predictions_evaluate_without_traceback(fuzz_runtime, fuzz_calc, patch, header):
    from swegym.harness import evaluate

    result = evaluate(fuzz_calc, header + patch, fuzz_runtime, retries=0, timeout=60)
    assert result.status in EVAL_STATUSES
    assert "harness error" not in (result.error or ""), result.error
    assert result.status != "error", result.error


@pytest.fixture(scope="module")
def fuzz_calc(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")


@pytest.fixture(scope="module")
def fuzz_runtime(docker_client, base_image):
    rt = swegym.create("runtime", "docker", mem_limit="512m", run_id="test-fuzz-hostile")
    yield rt
    rt.close()
