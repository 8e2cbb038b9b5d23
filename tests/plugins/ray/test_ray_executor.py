"""The ray executor's pieces: the env forwarding rule, the lost-rollout row, and the actor pool on a
one-node local Ray (workers that die mid-call are rerun; a stateful policy loads once per worker).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from swegym.orchestration import RunConfig, RunDir
from swegym.orchestration.engine import run_summary
from swegym.orchestration.record import RolloutKey, RolloutRecord
from swegym.orchestration.rollout import RolloutRequest
from swegym.types import Task, Trajectory

from tiny_model import tiny_model_fixture

from swegym_ray import env as env_rule  # noqa: E402  (the module imports no ray)

tiny_llama = tiny_model_fixture("llama")


# -- the env rule (no Ray) ----------------------------------------------------------------------

def test_forwarded_env_keys_settings_not_node_local():
    environ = {"OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "sk-2", "HF_TOKEN": "hf-3", "OPENAI_API_BASE": "http://x",
               "SWEGYM_CACHE": "/c", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TRANSFORMERS_OFFLINE": "1",
               "DOCKER_HOST": "tcp://driver:2375", "DOCKER_API_KEY": "node-own", "PATH": "/bin", "HOME": "/root",
               "MY_PROVIDER_KEY": "k"}
    out = env_rule.forwarded(environ, extra=["MY_PROVIDER_KEY", "DOCKER_CERT_PATH"])
    assert out == {"OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "sk-2", "HF_TOKEN": "hf-3",
                   "OPENAI_API_BASE": "http://x", "SWEGYM_CACHE": "/c", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                   "TRANSFORMERS_OFFLINE": "1", "MY_PROVIDER_KEY": "k"}
    assert env_rule.is_secret("OPENAI_API_KEY") and env_rule.is_secret("hf_token")
    assert not env_rule.is_secret("max_tokens_per_call") and not env_rule.is_secret("SWEGYM_CACHE")


def test_apply_keeps_node_local_variables(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///node.sock")
    monkeypatch.delenv("SWEGYM_RAY_TEST_X", raising=False)
    env_rule.apply({"DOCKER_HOST": "tcp://driver:1", "SWEGYM_RAY_TEST_X": "1"})
    assert os.environ["DOCKER_HOST"] == "unix:///node.sock" and os.environ["SWEGYM_RAY_TEST_X"] == "1"


def _request(iid: str = "o__r-1", k: int = 0) -> RolloutRequest:
    task = Task(instance_id=iid, repo="o/r", base_commit="0" * 40, problem_statement="p")
    return RolloutRequest(RunConfig(scaffold="openhands", policy="replay"), task, k, "run-1")


def test_lost_record_is_an_infrastructure_error_row(tmp_path):
    from swegym_ray.executor import LOST_PREFIX, lost_record

    losses = [f"{LOST_PREFIX} on node abc (pid 1): ActorDiedError"] * 2
    row = lost_record(_request(k=3), losses).to_row()
    rd = RunDir(tmp_path)
    rd.append(row)
    assert rd.done_keys() == {("o__r-1", 3)}
    assert row["metadata"]["rollout"]["infrastructure_attempts"] == losses
    summary = run_summary(rd)
    assert summary["infrastructure_errors"] == 1 and summary["agent_outcomes"]["unresolved"] == 0
    assert "2 time(s)" in row["evaluation"]["error"]


# -- the actor pool on a local one-node Ray -----------------------------------------------------

@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    # functions defined here travel by value: the workers cannot import this test module
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, resources={"swegym_sandbox": 2}, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _dies_once(request: tuple[str, int]) -> RolloutRecord:
    """Kill this worker process the first time a request is seen (a marker file remembers)."""
    folder, n = request
    marker = Path(folder) / f"seen-{n}"
    if n % 2 == 0 and not marker.exists():
        marker.write_text("x")
        os._exit(1)
    return RolloutRecord(RolloutKey(f"i{n}", n), Trajectory(instance_id=f"i{n}"))


def _always_dies(request: RolloutRequest) -> RolloutRecord:
    os._exit(1)


def test_dead_worker_rollouts_rerun_once_each(local_ray, tmp_path):
    from swegym_ray.executor import LOST_PREFIX, RayExecutor

    ex = RayExecutor(workers=2, max_reruns=2)
    rows = list(ex.map_unordered(_dies_once, [(str(tmp_path), n) for n in range(6)]))
    assert sorted(r.key.sample_index for r in rows) == list(range(6)), "each request once: none lost, none twice"
    for r in rows:
        assert len(r.attempts) == (1 if r.key.sample_index % 2 == 0 else 0)
        assert all(a.startswith(LOST_PREFIX) for a in r.attempts)
        assert r.placement["executor"] == "ray" and r.placement["pid"] != os.getpid()
        assert r.to_row()["metadata"]["rollout"]["placement"] == r.placement
    assert ex.stats["workers_lost"] == 3 and ex.stats["reruns"] == 3 and ex.stats["lost_rows"] == 0
    ex.close()
    assert local_ray.is_initialized(), "an executor does not shut down a Ray it did not start"


def test_worker_that_keeps_dying_gives_an_error_row(local_ray):
    from swegym_ray.executor import RayExecutor

    ex = RayExecutor(workers=2, max_reruns=1)
    (record,) = ex.map_unordered(_always_dies, [_request()])
    row = record.to_row()
    assert row["status"] == "error" and len(row["metadata"]["rollout"]["infrastructure_attempts"]) == 2
    assert ex.stats["lost_rows"] == 1


def test_workers_that_cannot_start_stop_the_run(local_ray, monkeypatch):
    from swegym import InfrastructureError
    from swegym_ray.executor import RayExecutor

    monkeypatch.setattr(env_rule, "forwarded", lambda extra=(): {"SWEGYM_NOT_A_STRING": 1})  # setenv raises
    ex = RayExecutor(workers=1, max_reruns=0)
    with pytest.raises(InfrastructureError, match="keep dying before they start"):
        list(ex.map_unordered(len, ["x"]))


def test_runtime_env_vars_are_refused(local_ray):
    from swegym import SwegymError
    from swegym_ray.executor import RayExecutor

    with pytest.raises(SwegymError, match="forward_env"):
        RayExecutor(runtime_env={"env_vars": {"OPENAI_API_KEY": "sk"}})


def _hf_load(request: str) -> tuple[int, int, int]:
    import swegym
    from swegym_hf import loading

    policy = swegym.create("policy", "hf", model=request)
    return os.getpid(), id(policy._loaded.model), len(loading._loaded)


def test_hf_policy_loads_once_per_worker(local_ray, tiny_llama):
    from swegym_ray.executor import RayExecutor

    ex = RayExecutor(workers=2)
    results = list(ex.map_unordered(_hf_load, [str(tiny_llama)] * 6))
    models_per_worker: dict[int, set[int]] = {}
    for pid, model, loaded in results:
        models_per_worker.setdefault(pid, set()).add(model)
        assert loaded == 1
    assert len(models_per_worker) == 2 and all(len(m) == 1 for m in models_per_worker.values())
