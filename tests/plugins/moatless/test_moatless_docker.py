"""The Moatless scaffold in a real Docker sandbox: a replayed solve graded by the harness, and the
real SmolLM2 model (hf policy) running a demo task to a clean end."""
from __future__ import annotations

import json
import time
import uuid

import pytest

import swegym

from test_moatless_scaffold import CALC, SOLVE

pytestmark = pytest.mark.docker


@pytest.fixture()
def runtime(docker_client, base_image):
    rt = swegym.create("runtime", "docker", run_id=f"test-moatless-{uuid.uuid4().hex[:8]}")
    yield rt
    rt.close()


@pytest.fixture()
def calc(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == CALC)


def test_replayed_run_solves_calc_in_docker_and_is_graded_resolved(runtime, calc, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_CACHE", str(tmp_path))  # the index is built from the container's repo
    policy = swegym.create("policy", "replay",
                           trajectory={"messages": [{"role": "assistant", "content": r} for r in SOLVE]})
    scaffold = swegym.create("scaffold", "moatless", embedder="hashing")
    sandbox = runtime.open(calc)
    try:
        t0 = time.monotonic()
        traj = scaffold.run(calc, sandbox, policy)
        print(f"rollout {time.monotonic() - t0:.1f}s")
        on_disk = sandbox.read_file("/testbed/calc/stats.py")
    finally:
        sandbox.close()
    assert traj.stop_reason == "finished", traj.metadata["scaffold"]["stop_detail"]
    assert [t["state"] for t in traj.metadata["scaffold"]["transitions"]] == [
        "SearchCode", "IdentifyCode", "DecideRelevance", "PlanToCode", "EditCode", "PlanToCode"]
    assert "return max(low, min(value, high))" in on_disk
    assert "+    return max(low, min(value, high))" in traj.patch
    assert traj.metadata["scaffold"]["index"]["embedder"] == "hashing" and traj.metadata["scaffold"]["index"]["chunks"] > 0
    assert list((tmp_path).rglob("meta.json")), "the index is cached on the host"
    from swegym.harness import evaluate

    t0 = time.monotonic()
    result = evaluate(calc, traj.patch, runtime)
    print(f"evaluate {time.monotonic() - t0:.1f}s")
    assert result.status == "resolved", (result.status, result.error, result.tests)


@pytest.mark.slow
def test_smollm2_through_hf_policy_ends_cleanly(runtime, calc, tmp_path, monkeypatch):
    """The tiny model mostly writes garbage: the rollout must still end with a recorded reason."""
    pytest.importorskip("transformers")
    from tiny_model import have_smollm2

    if not have_smollm2():
        pytest.skip("the SmolLM2 GGUF is missing: bash scripts/install-models.sh")
    policy = swegym.create("policy", "hf", max_new_tokens=24)
    # no retry, few tokens: CPU generation on a shared 2-core machine is slow; the point is a clean end, whatever happens
    scaffold = swegym.create("scaffold", "moatless", embedder="hashing", max_transitions=2, max_retries=0)
    sandbox = runtime.open(calc)
    try:
        traj = scaffold.run(calc, sandbox, policy, swegym.SamplingParams(temperature=0.0, max_tokens=24))
    finally:
        sandbox.close()
        policy.close()
    assert traj.stop_reason in {"finished", "rejected", "invalid_response", "budget_exceeded",
                                "context_window_exceeded"}, traj.metadata["scaffold"].get("stop_detail")
    assert traj.metadata["scaffold"]["calls"] and traj.metadata["scaffold"]["transitions"]
    assert traj.metadata["scaffold"]["usage"]["calls"] == len(traj.metadata["scaffold"]["calls"])
    assert traj.metadata["scaffold"]["usage"]["prompt_tokens"] > 0
    assert isinstance(traj.patch, str)
    json.dumps(traj.to_dict())
    if traj.stop_reason == "invalid_response":
        assert traj.metadata["scaffold"]["stop_detail"] and not traj.metadata["scaffold"]["calls"][-1]["valid"]
