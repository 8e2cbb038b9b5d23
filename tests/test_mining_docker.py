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
