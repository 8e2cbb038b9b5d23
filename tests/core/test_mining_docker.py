"""Mining end to end in real Docker sandboxes: a small repository's pull requests become tasks
(FAIL_TO_PASS / PASS_TO_PASS from running the tests twice before and after each fix), a PR whose
new test already passes is dropped with its reason, ``swegym validate`` accepts the output, and a
rerun resumes without running anything."""
from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

import swegym
from swegym.cli import cli
from swegym.mining import mine_tasks

from mining_repos import make_history

pytestmark = pytest.mark.docker
REPO = "acme/calc"
RUN_ID = f"mine-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def prefix(docker_client):
    name = f"swegymmine{uuid.uuid4().hex[:8]}"
    yield name
    for c in docker_client.containers.list(all=True, filters={"label": f"swegym.run_id={RUN_ID}"}):
        c.remove(force=True)
    for image in docker_client.images.list(filters={"label": f"swegym.prefix={name}"}):
        try:
            docker_client.images.remove(image.id, force=True)
        except Exception:
            pass


def test_mine_execute_validate_resume(docker_client, base_image, prefix, tmp_path):
    root = tmp_path / "calc"
    make_history(root)
    spec = tmp_path / "env.yaml"
    spec.write_text("repositories:\n  acme/calc:\n    specs:\n      - install: ''\n        pip_packages: [pytest]\n"
                    "        test_cmd: python -m pytest -rA -p no:cacheprovider\n")
    runtime = swegym.create("runtime", "docker", repo_sources={REPO: root}, env_spec_file=str(spec),
                            image_prefix=prefix, run_id=RUN_ID)
    out = tmp_path / "mined" / "tasks.jsonl"
    try:
        result = mine_tasks(REPO, out, source=root, prs=[3, 5, 7], workers=2, runtime=runtime, env_spec=str(spec),
                            github=False, progress=False, timeout=120)
    finally:
        runtime.close()
    rows = {r["instance_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(rows) == ["acme__calc-3", "acme__calc-5"]
    assert rows["acme__calc-3"]["FAIL_TO_PASS"] == ["tests/test_calc.py::test_clamp_high"]
    assert rows["acme__calc-3"]["PASS_TO_PASS"] == ["tests/test_calc.py::test_add"]
    # a test file that does not even import before the fix: its tests are FAIL_TO_PASS
    assert rows["acme__calc-5"]["FAIL_TO_PASS"] == ["tests/test_sub.py::test_sub"]
    assert rows["acme__calc-5"]["PASS_TO_PASS"] == []
    report = json.loads(result.report_path.read_text())
    entry7 = report["candidates"]["acme__calc-7"]
    assert entry7["decision"] == "dropped" and entry7["reason"].startswith("no FAIL_TO_PASS")
    assert entry7["PASS_TO_PASS"] == 1 and entry7["test_s"] > 0
    assert all(report["candidates"][i]["build_s"] >= 0 and report["candidates"][i]["decision"] == "kept" for i in rows)
    assert report["summary"]["kept"] == 2 and report["summary"]["dropped"] == 1

    # the rows load and validate as they are
    res = CliRunner().invoke(cli, ["validate", "-d", str(out), "--env-spec", str(spec), "--runtime-opt",
                                   f"image_prefix={prefix}", "--runtime-opt", f"run_id={RUN_ID}"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "2/2 task(s) valid" in res.output

    # a rerun decides nothing again
    again = mine_tasks(REPO, out, source=root, prs=[3, 5, 7], runtime=object(), github=False, progress=False)
    assert again.examined == 0 and len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_sandboxes_and_exits_130(docker_client, base_image, prefix, tmp_path, signame):
    """Ctrl-C (or SIGTERM) while a candidate's tests run: exit 130 within seconds, its sandbox removed,
    nothing recorded."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from mining_repos import commit, git

    root = tmp_path / "slow"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, "initial", {"slow.py": "def f():\n    return 1\n", "tests/test_slow.py": "def test_ok():\n    pass\n"},
           "2023-01-01T10:00:00+00:00")
    commit(root, "Fix f (#2)", {"slow.py": "def f():\n    return 2\n", "tests/test_slow.py":
                                "import time\nfrom slow import f\n\n\ndef test_f():\n    time.sleep(300)\n    assert f() == 2\n"},
           "2023-01-02T10:00:00+00:00")
    spec = tmp_path / "env.yaml"
    spec.write_text("repositories:\n  acme/slow:\n    specs:\n      - install: ''\n        pip_packages: [pytest]\n"
                    "        test_cmd: python -m pytest -rA -p no:cacheprovider\n")
    run_id = f"{RUN_ID}-{signame}"
    out = tmp_path / "out" / "tasks.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "swegym.cli", "tasks", "mine", "--repo", "acme/slow", "--repo-source",
                             f"acme/slow={root}", "--env-spec", str(spec), "--offline", "--runtime-opt",
                             f"image_prefix={prefix}", "--runtime-opt", f"run_id={run_id}", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    label = {"label": [f"swegym.run_id={run_id}", "swegym.kind=sandbox"]}
    try:
        deadline = time.monotonic() + 300
        while not docker_client.containers.list(filters=label):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() is not None else "no sandbox"
            time.sleep(0.5)
        time.sleep(3)  # the test command is running (it sleeps 300 s)
        t0 = time.monotonic()
        os.kill(proc.pid, getattr(signal, signame))
        rc = proc.wait(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read()
    assert rc == 130, err
    print(f"exit 130 after {signame} in {elapsed:.2f} s")
    assert elapsed < 5, elapsed  # ~2 s asked; margin for a loaded machine
    assert "interrupted" in err
    assert docker_client.containers.list(all=True, filters={"label": f"swegym.run_id={run_id}"}) == []
    report = json.loads((out.parent / "mine-report.json").read_text())
    assert report["candidates"] == {}  # the interrupted candidate is not a decision: a rerun mines it
