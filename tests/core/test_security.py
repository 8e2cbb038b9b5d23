"""Hostile input and faults (issue 20): nothing from a task runs on the host, no secret on disk, no
lost run, no run-wide abort from one bad reply, no double writer, bounded model waits.

Each test names the item it guards. Docker tests use the demo calc task's image (real engine).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import swegym
from swegym import DataError, InfrastructureError, load_tasks
from swegym.orchestration import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from openai_server import OpenAIServer, Reply  # noqa: E402

SWEGYM = [sys.executable, "-m", "swegym.cli"]
EVIL_COMMIT = "HEAD^{/.*|$(touch %s)}"  # a valid git revision (message search) that is also shell


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _row(**over) -> dict:
    row = {"instance_id": "o__r-1", "repo": "o/r", "base_commit": "a" * 40, "version": "1.0"}
    row.update(over)
    return row


# -- 1. host command execution from a dataset row ---------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("base_commit", EVIL_COMMIT % "/tmp/x"),
    ("base_commit", "--upload-pack=touch /tmp/x"),
    ("base_commit", "main"),
    ("environment_setup_commit", "$(id)"),
    ("repo", "o/r;touch /tmp/x"),
    ("repo", "../../etc"),
    ("version", "1.0 $(id)"),
    ("instance_id", "a b"),
    ("instance_id", "-rf"),
    ("FAIL_TO_PASS", ["tests/t.py::a\nb"]),
])
def test_row_fields_that_reach_commands_are_validated_at_load(tmp_path, field, value):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(_row(**{field: value})) + "\n")
    with pytest.raises(DataError) as info:
        load_tasks(str(path))
    assert f"field {field!r}" in str(info.value) and "row 1" in str(info.value)


def test_real_rows_still_load(shared_data):
    for name in ("swe-bench-lite-sample.jsonl", "swegym-moto-sample.jsonl"):
        assert load_tasks(str(shared_data / name))
    assert len(load_tasks("demo")) == 5


def test_local_mirror_build_never_runs_row_text_on_host(tmp_path):
    """The exact exploit of the issue: before the fix `touch` ran on the host during `images build`."""
    from swegym_docker.images import _prepare_local_repo

    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q")
    (src / "f.txt").write_text("x\n")
    _git(src, "add", "f.txt")
    _git(src, "commit", "-q", "-m", "init")
    marker = tmp_path / "pwned"
    with pytest.raises(swegym.SwegymError):
        _prepare_local_repo(str(src), EVIL_COMMIT % marker, tmp_path / "out")
    assert not marker.exists()
    # a real commit still works, through argv only
    commit = _git(src, "rev-parse", "HEAD")
    _prepare_local_repo(str(src), commit, tmp_path / "ok")
    assert (tmp_path / "ok" / "f.txt").read_text() == "x\n"
    assert _git(tmp_path / "ok", "for-each-ref", "--format=%(refname)") == "refs/heads/main"


def test_dockerfile_lines_quote_the_commit():
    from swegym_docker.images import _strip_history_lines

    lines = "\n".join(_strip_history_lines("abc$(id)"))
    assert "'abc$(id)'" in lines and " abc$(id)" not in lines


@pytest.mark.docker
def test_sandbox_reset_and_diff_quote_the_commit(docker_client, base_image, demo_tasks):
    calc = next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")
    runtime = swegym.create("runtime", "docker", mem_limit="512m", run_id="test-security-quote")
    try:
        with runtime.open(calc) as box:
            box.task = replace(calc, base_commit="HEAD $(touch /tmp/pwned)")
            from swegym.errors import RepositoryError

            for op, error in ((box.reset, InfrastructureError), (box.diff, RepositoryError)):
                with pytest.raises(error):
                    op()
            assert box.run("test -e /tmp/pwned; echo $?").output.strip() == "1"
    finally:
        runtime.close()


# -- 2. no API key on disk ------------------------------------------------------------------------

def test_redact_command_rules():
    from swegym.redaction import redact_command

    argv = ["swegym", "run", "--api-key", "sk-A1234567", "--hf-token=hf_B1234567", "--max-tokens", "99",
            "--policy-opt", "api_key=sk-C1234567", "--runtime-opt", 'auth={"password": "sk-D1234567"}',
            "--scaffold-opt", "note=has sk-E1234567 inside", "--policy-opt=api_key=sk-F1234567",
            '--runtime-opt={"auth": {"token": "sk-G1234567"}}']
    text = redact_command(argv, secrets=["sk-E1234567"])
    for secret in ("sk-A", "hf_B", "sk-C", "sk-D", "sk-E", "sk-F", "sk-G"):
        assert secret not in text, text
    assert "--max-tokens 99" in text and "--api-key <redacted>" in text


def test_manifest_never_holds_a_key(tmp_path):
    """Keys by flag, by env var, by config file and inside --*-opt values: none reaches the run dir."""
    secrets = {"flag": "sk-FLAG-0123456789", "env": "sk-ENVV-0123456789", "openai": "sk-OPEN-0123456789",
               "config": "sk-CONF-0123456789", "runtime": "sk-RUNT-0123456789", "scaffold": "sk-SCAF-0123456789",
               "json": "sk-JSON-0123456789", "policy": "sk-POLI-0123456789"}
    # Options are checked before the run directory exists, so the run must get past them: an
    # unreachable daemon makes the one rollout an infrastructure error row after the manifest.
    common = ["run", "--no-progress", "-d", "demo", "--limit", "1", "--policy", "litellm", "--model", "openai/m",
              "--api-base", "http://127.0.0.1:9/v1", "--docker-host", "tcp://127.0.0.1:9", "--infra-retries", "0"]
    (tmp_path / "cfg.yaml").write_text(f"run:\n  api_key: {secrets['config']}\n")
    runs = {
        "flags": [*common, "--api-key", secrets["flag"],
                  "--scaffold-opt", f"secret={secrets['scaffold']}",
                  "--scaffold-opt", f'auth={{"password": "{secrets["json"]}"}}',
                  f"--policy-opt=api_key={secrets['policy']}"],
        "config": ["--config", str(tmp_path / "cfg.yaml"), *common],
        "env": common,
    }
    env = {**os.environ, "OPENAI_API_KEY": secrets["openai"]}
    for name, args in runs.items():
        run_dir = tmp_path / name
        extra = {"SWEGYM_RUN_API_KEY": secrets["env"]} if name == "env" else {}
        out = subprocess.run([*SWEGYM, *args, "--run-dir", str(run_dir)], capture_output=True, text=True,
                             env={**env, **extra}, timeout=300)
        assert out.returncode == 0 and "127.0.0.1:9" in (run_dir / "trajectories.jsonl").read_text(), out.stderr[-2000:]
        manifest = (run_dir / "manifest.json").read_text()
        assert "<redacted>" in manifest
        for path in run_dir.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                leaked = [k for k, v in secrets.items() if v in text]
                assert not leaked, f"{path.name} of the {name} run holds {leaked}"
    assert "--api-key <redacted>" in json.loads((tmp_path / "flags" / "manifest.json").read_text())["command"]


# -- 3. one bad string never loses the run; unreadable files are DataErrors --------------------------

def test_lone_surrogate_patch_keeps_the_report(tmp_path):
    from swegym.harness import ReportWriter, load_report
    from swegym.types import EvalResult

    writer = ReportWriter(tmp_path)
    writer.add("a", EvalResult("a", "resolved", log="log \ud83d"), patch="+x\n")
    writer.add("b", EvalResult("b", "unresolved", log="\udcff ok"), patch="+\ud83d\n")
    writer.flush()
    report = load_report(tmp_path)
    assert set(report["instances"]) == {"a", "b"} and report["summary"]["total"] == 2
    assert (tmp_path / "logs" / "b" / "patch.diff").read_bytes() == "+\ufffd\n".encode()


def test_run_rows_with_surrogates_round_trip_and_unwritable_row_becomes_error(tmp_path):
    from swegym.harness import ReportWriter
    from swegym.orchestration.engine import _record

    rd = RunDir(tmp_path)
    rd.append({"instance_id": "a", "patch": "\U0001f600 and \ud83d", "metadata": {"sample_index": 0}})
    (row,) = list(rd.rows())
    assert row["patch"] == "\U0001f600 and \ud83d"
    report = ReportWriter(tmp_path)
    from swegym.orchestration.record import RolloutKey, RolloutRecord

    bad = RolloutRecord(RolloutKey("b", 0), swegym.Trajectory("b", metadata={"scaffold": {"obj": object()}}))
    _record(rd, report, bad, 1)  # not JSON-serialisable: that row's error, the run goes on
    _record(rd, report, RolloutRecord(RolloutKey("c", 0), swegym.Trajectory("c")), 1)
    rows = {r["instance_id"]: r for r in rd.rows()}
    assert rows["b"]["status"] == "error" and "could not be written" in rows["b"]["evaluation"]["error"]
    assert "c" in rows


@pytest.mark.parametrize("content,expect", [
    (b'{"instance_id": "\xff\xfe"}\n', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"", "empty"),
    (b"   \n", "empty"),
])
def test_unreadable_json_files_are_data_errors_naming_the_file(tmp_path, content, expect):
    from swegym.harness import load_predictions, load_report

    for name, load in (("tasks.json", load_tasks), ("preds.json", load_predictions),
                       ("report.json", load_report)):
        path = tmp_path / name
        path.write_bytes(content)
        if name == "tasks.json" and not content.strip():
            continue  # an empty task file is an empty dataset
        with pytest.raises(DataError) as info:
            load(str(path))
        assert str(path) in str(info.value) and expect in str(info.value), (name, str(info.value))
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_bytes(content.replace(b"\n", b" ") + b"\n")
    if content.strip():
        with pytest.raises(DataError) as info:
            load_tasks(str(jsonl))
        assert str(jsonl) in str(info.value) and "row 1" in str(info.value)


def test_empty_manifest_is_a_data_error(tmp_path):
    (tmp_path / "manifest.json").write_text("")
    with pytest.raises(DataError) as info:
        RunDir(tmp_path).read_manifest()
    assert "manifest.json" in str(info.value) and "empty" in str(info.value)
    out = subprocess.run([*SWEGYM, "run", "--no-progress", "-d", "demo", "--limit", "1", "--docker-host",
                          "tcp://127.0.0.1:9", "--run-dir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "manifest.json" in out.stderr and "Traceback" not in out.stderr


# -- 5. malformed provider replies ----------------------------------------------------------------

EMPTY_CHOICES = {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}


def test_empty_choices_is_retried_then_infrastructure_with_url():
    with OpenAIServer([Reply(body=EMPTY_CHOICES), Reply.text("fine")]) as srv:
        policy = swegym.create("policy", "litellm", model="openai/served", api_base=srv.url, api_key="sk-x",
                               backoff_base=0.01)
        assert policy.complete([{"role": "user", "content": "hi"}]).content == "fine"
    with OpenAIServer([Reply(body=EMPTY_CHOICES)] * 3) as srv:
        policy = swegym.create("policy", "litellm", model="openai/served", api_base=srv.url, api_key="sk-x",
                               max_retries=2, backoff_base=0.01)
        with pytest.raises(InfrastructureError) as info:
            policy.complete([{"role": "user", "content": "hi"}])
        assert len(srv.requests) == 3
        url = srv.url
    assert url in str(info.value) and url in info.value.cause and "choice" in info.value.cause


@pytest.mark.docker
def test_empty_choices_run_goes_on_with_error_rows(tmp_path, docker_client, base_image):
    with OpenAIServer(responder=lambda req: Reply(body=EMPTY_CHOICES)) as srv:
        out = subprocess.run(
            [*SWEGYM, "run", "--no-progress", "-d", "demo", "--instance-id", "swegym-demo__calc-1",
             "--scaffold", "openhands", "--policy", "litellm", "--model", "openai/served", "--api-base", srv.url,
             "--api-key", "sk-x", "--policy-opt", "max_retries=1", "--policy-opt", "backoff_base=0.01",
             "--infra-retries", "0", "--run-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=600)
        url = srv.url
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["infrastructure_errors"] == 1
    (row,) = [json.loads(line) for line in (tmp_path / "trajectories.jsonl").read_text().splitlines()]
    assert row["status"] == "error"
    assert url in row["evaluation"]["error"] and "MalformedReply" in row["evaluation"]["error"]


# -- 6. run-directory lock --------------------------------------------------------------------------

def _try_lock(path: str, barrier, results) -> None:
    barrier.wait()
    try:
        RunDir(path).acquire()
    except DataError:
        results.put(0)
        return
    results.put(1)
    time.sleep(0.05)  # hold it while the others try


def test_concurrent_drivers_get_the_lock_exactly_once(tmp_path):
    ctx = mp.get_context("fork")
    for trial in range(30):
        path = str(tmp_path / f"r{trial}")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_try_lock, args=(path, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        got = sum(results.get(timeout=30) for _ in procs)
        for p in procs:
            p.join(10)
        assert got == 1, f"trial {trial}: {got} drivers held the lock"


def test_lock_is_held_for_the_run_and_freed_by_kill_9(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from swegym.orchestration import RunDir; "
                               f"RunDir({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DataError, match=f"pid {holder.pid}"):
            RunDir(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    rd = RunDir(tmp_path)
    rd.acquire()  # a killed driver's lock is gone with it
    rd.release()


# -- 11. time bounds --------------------------------------------------------------------------------

def test_call_deadline_bounds_all_retries():
    with OpenAIServer(responder=lambda req: Reply.text("slow", delay=3.0)) as srv:
        policy = swegym.create("policy", "litellm", model="openai/served", api_base=srv.url, api_key="sk-x",
                               timeout=600, max_retries=6, deadline=1.0, backoff_base=0.01)
        t0 = time.monotonic()
        with pytest.raises(InfrastructureError) as info:
            policy.complete([{"role": "user", "content": "hi"}])
        assert time.monotonic() - t0 < 2.5
        url = srv.url
    assert "time budget" in str(info.value) and url in str(info.value)


def test_rollout_deadline_bounds_model_calls_and_is_not_retried():
    from swegym.deadline import DeadlineExceeded, deadline

    with OpenAIServer(responder=lambda req: Reply.text("slow", delay=3.0)) as srv:
        policy = swegym.create("policy", "litellm", model="openai/served", api_base=srv.url, api_key="sk-x",
                               timeout=600, max_retries=6, deadline=None, backoff_base=0.01)
        t0 = time.monotonic()
        with deadline(0.8), pytest.raises(DeadlineExceeded):
            policy.complete([{"role": "user", "content": "hi"}])
        assert time.monotonic() - t0 < 2.5


# -- 4. who failed: the agent / the patch (unresolved) or the infrastructure (error) -----------------

CALC_KILLS_SHELL = """diff --git a/calc/stats.py b/calc/stats.py
--- a/calc/stats.py
+++ b/calc/stats.py
@@ -24,4 +24,5 @@ def clamp(value, low, high):
     \\"\\"\\"Limit value to the closed interval [low, high].\\"\\"\\"
     if low > high:
         raise ValueError("low must not exceed high")
-    return max(low, min(value, high - 1))
+    import os, signal; os.kill(os.getppid(), signal.SIGKILL)
+    return value
"""


@pytest.fixture(scope="module")
def calc(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")


@pytest.fixture(scope="module")
def killable_runtime(docker_client, base_image):
    rt = swegym.create("runtime", "docker", mem_limit="512m", run_id="test-security-kill")
    yield rt
    rt.close()


@pytest.mark.docker
@pytest.mark.parametrize("command,timeout", [("kill -9 -1", 30), ("kill -9 $$", 30), ("kill -STOP -1; sleep 30", 1)])
def test_agent_breaking_its_sandbox_is_its_own_outcome(killable_runtime, calc, command, timeout):
    from swegym.errors import SandboxKilled

    with killable_runtime.open(calc) as box:
        assert box.run("echo up").output == "up\n"
        try:
            box.run(command, timeout=timeout)
            time.sleep(1)  # kill -9 -1 spares the calling shell: let a dying container finish dying
            again = box.run("echo again", timeout=30)
            patch = box.diff()
        except SandboxKilled as exc:  # the agent broke its own sandbox: its outcome
            assert exc.reason == "sandbox_killed"
        else:  # the sandbox survived its agent's command and goes on; never an infrastructure error
            assert again.output == "again\n" and patch == ""


@pytest.mark.docker
def test_outside_kill_stays_infrastructure(docker_client, killable_runtime, calc):
    from swegym.errors import SandboxKilled

    with killable_runtime.open(calc) as box:
        docker_client.api.kill(box.container.id)
        with pytest.raises(InfrastructureError) as info:
            box.run("echo hi", timeout=30)
        assert not isinstance(info.value, SandboxKilled)


@pytest.mark.docker
def test_patch_killing_its_test_shell_is_unresolved(killable_runtime, calc):
    from swegym.harness import evaluate

    result = evaluate(calc, CALC_KILLS_SHELL, killable_runtime, retries=1, backoff=0.1, timeout=60)
    assert result.status == "unresolved", result.error
    assert result.details["reason"] == "sandbox_killed" and "attempts" not in result.details


def test_rollout_with_killed_sandbox_is_unresolved_not_error(monkeypatch, calc):
    from swegym.errors import SandboxKilled
    from swegym.orchestration import RunConfig, rollout
    from swegym.orchestration.rollout import RolloutRequest, execute_rollout

    calls = []

    def broken(request, timings, sampling):
        calls.append(1)
        raise SandboxKilled("the sandbox was broken from inside", reason="sandbox_killed")

    monkeypatch.setattr(rollout, "_rollout_once", broken)
    row = execute_rollout(RolloutRequest(RunConfig(infra_retries=2), calc, 0, "r")).to_row()
    assert len(calls) == 1 and row["status"] == "unresolved" and row["stop_reason"] == "sandbox_killed"
    assert row["evaluation"]["details"]["reason"] == "sandbox_killed"


CONFTEST_CHEAT = """diff --git a/conftest.py b/conftest.py
new file mode 100644
--- /dev/null
+++ b/conftest.py
@@ -0,0 +1,3 @@
+import pytest
+@pytest.hookimpl(hookwrapper=True)
+def pytest_runtest_makereport(item, call): ...
"""
PYPROJECT_PYTEST = """diff --git a/pyproject.toml b/pyproject.toml
--- a/pyproject.toml
+++ b/pyproject.toml
@@ -1,2 +1,4 @@
 [project]
 name = "calc"
+[tool.pytest.ini_options]
+addopts = "-p no:python"
"""
PYPROJECT_PLAIN = PYPROJECT_PYTEST.replace("+[tool.pytest.ini_options]\n+addopts = \"-p no:python\"\n",
                                           "+[tool.black]\n+line-length = 100\n")


def test_strict_grading_refuses_test_infrastructure(calc):
    from swegym.harness import evaluate
    from swegym.harness.strict import test_infrastructure_files

    assert test_infrastructure_files(CONFTEST_CHEAT, calc) == ["conftest.py"]
    assert test_infrastructure_files(PYPROJECT_PYTEST, calc) == ["pyproject.toml"]
    assert test_infrastructure_files(PYPROJECT_PLAIN, calc) == []
    assert test_infrastructure_files(calc.patch, calc) == []
    own = replace(calc, test_patch=calc.test_patch + CONFTEST_CHEAT)  # the task's own test files are fine
    assert test_infrastructure_files(CONFTEST_CHEAT, own) == []
    result = evaluate(calc, CONFTEST_CHEAT + calc.patch, runtime=None, strict_grading=True)  # never opens one
    assert result.status == "unresolved" and result.details["reason"] == "touches_test_infrastructure"


# -- 10. memory: large payloads are not multiplied on the host; replies are capped -------------------

def _big_patch(megabytes: int) -> str:
    body = "".join(f"+{i:07d} {'x' * 56}\n" for i in range(megabytes * 1024 * 1024 // 66))
    lines = body.count("\n")
    return (f"diff --git a/big.txt b/big.txt\nnew file mode 100644\n--- /dev/null\n+++ b/big.txt\n"
            f"@@ -0,0 +1,{lines} @@\n{body}")


@pytest.mark.docker
def test_large_patch_costs_little_host_memory(killable_runtime, calc):
    import tracemalloc

    from swegym.harness import evaluate

    patch = _big_patch(8)
    tracemalloc.start()
    try:
        result = evaluate(calc, patch, killable_runtime, retries=0, timeout=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status in ("unresolved", "resolved"), result.error
    assert ">>>>> Applied Patch" in result.log
    assert peak < 6 * len(patch), f"peak {peak / 1e6:.0f} MB for a {len(patch) / 1e6:.0f} MB patch"


def test_model_reply_is_capped_and_the_cap_recorded():
    huge = "y" * 300_000
    with OpenAIServer([Reply.text(huge), Reply.text("short")]) as srv:
        policy = swegym.create("policy", "litellm", model="openai/served", api_base=srv.url, api_key="sk-x",
                               max_reply_chars=10_000)
        cut = policy.complete([{"role": "user", "content": "hi"}])
        ok = policy.complete([{"role": "user", "content": "hi"}])
    assert len(cut.content) < 10_200 and "max_reply_chars" in cut.content
    assert cut.raw["swegym_reply_cap"] == {"limit": 10_000, "reply_chars": 300_000, "truncated": True}
    assert ok.content == "short" and "swegym_reply_cap" not in (ok.raw or {})


# -- 9. disk: a sandbox that writes past its budget is stopped, with a clear outcome -----------------

@pytest.mark.docker
def test_disk_limit_stops_the_sandbox_with_a_clear_outcome(docker_client, base_image, calc):
    from swegym.errors import SandboxKilled

    rt = swegym.create("runtime", "docker", mem_limit="512m", run_id="test-security-disk", disk_limit="64m",
                       disk_poll_s=0.3)
    try:
        with rt.open(calc) as box:
            assert box.run("head -c 16M /dev/zero > /tmp/small && echo ok").output == "ok\n"
            with pytest.raises(SandboxKilled) as info:
                box.run("head -c 200M /dev/zero > /tmp/big; sleep 20", timeout=60)
                box.run("echo again", timeout=30)
            assert info.value.reason == "disk_limit" and "disk_limit" in str(info.value)
    finally:
        rt.close()


def test_rollout_over_its_deadline_is_an_error_and_not_retried(monkeypatch, calc):
    from swegym.deadline import DeadlineExceeded
    from swegym.orchestration import RunConfig, rollout
    from swegym.orchestration.rollout import RolloutRequest, execute_rollout

    calls = []

    def slow(request, timings, sampling):
        calls.append(1)
        raise DeadlineExceeded("the rollout ran out of its time budget", cause="rollout deadline exceeded")

    monkeypatch.setattr(rollout, "_rollout_once", slow)
    row = execute_rollout(RolloutRequest(RunConfig(infra_retries=2, retry_backoff_s=0), calc, 0, "r")).to_row()
    assert len(calls) == 1 and row["status"] == "error" and "time budget" in row["evaluation"]["error"]


@pytest.mark.docker
def test_eval_cli_with_a_lone_surrogate_patch_writes_the_report(tmp_path, docker_client, base_image, calc):
    """Issue 20 item 3 as reported: `swegym eval` crashed writing the report; a rerun crashed again."""
    preds = tmp_path / "preds.json"
    patch = calc.patch.replace("return", "return  # \ud83d", 1)
    preds.write_text(json.dumps([{"instance_id": calc.instance_id, "model_patch": patch}]))
    for _ in range(2):  # the rerun resumes from the report
        out = subprocess.run([*SWEGYM, "eval", "-d", "demo", "--predictions", str(preds), "--run-dir",
                              str(tmp_path / "run"), "--retries", "0"], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["instances"][calc.instance_id]["status"] in ("resolved", "unresolved", "patch_apply_failed")
