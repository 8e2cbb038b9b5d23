"""swegym's moatless scaffold sends exactly what the SWE-Gym fork sends, request by request.

The goldens (tests/data/moatless/golden_*.json, made by make_goldens.py from the fork's own code)
hold every request the fork made for scripted replies on the calc demo. Here the same replies go
through the real replay policy into swegym's scaffold on a real git checkout, with the same fixed
search hits, and every message of every request is compared exactly, for every state.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from swegym import Policy
from swegym.demo import materialize
from swegym_moatless.code_index import CodeIndex
from swegym_moatless.scaffold import MoatlessScaffold
from swegym_moatless.code_index import SearchCodeHit, SearchCodeResponse, SpanHit
from swegym_replay.policy import ReplayPolicy

from test_moatless_scaffold import CALC, GitDirSandbox

DATA = Path(__file__).resolve().parents[2] / "data" / "moatless"
GOLDENS = sorted(p.stem.removeprefix("golden_") for p in DATA.glob("golden_*.json"))


class FixedHits:
    """The fork's CodeIndex interface with the goldens' fixed hits (make_goldens.FixedIndex)."""

    def __init__(self, search: dict[str, list[str]], semantic: dict[str, list[str]]):
        self._search, self._semantic = search, semantic

    @staticmethod
    def _hits(hits: dict[str, list[str]]) -> list[SearchCodeHit]:
        return [SearchCodeHit(path, [SpanHit(s, i) for i, s in enumerate(spans)]) for path, spans in hits.items()]

    def search(self, **_: Any) -> list[SearchCodeHit]:
        return self._hits(self._search)

    def semantic_search(self, **_: Any) -> list[SearchCodeHit]:
        return self._hits(self._semantic)


class Recording(Policy):
    """The replay policy, keeping every request (messages and sampling) it is given."""

    def __init__(self, replies: list[str]):
        self.inner = ReplayPolicy(trajectory=[{"role": "assistant", "content": r} for r in replies])
        self.model = "replay"
        self.requests: list[dict[str, Any]] = []

    @property
    def supports_function_calling(self) -> bool:
        return False

    def complete(self, messages, tools=None, sampling=None):
        self.requests.append({"messages": messages, "stop": sampling.stop, "max_tokens": sampling.max_tokens,
                              "tools": tools})
        return self.inner.complete(messages, tools=tools, sampling=sampling)


def _golden(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"golden_{name}.json").read_text())


def _fixed_hits() -> FixedHits:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_goldens", DATA / "make_goldens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # only constants and scenario replies; nothing of the fork is imported
    return FixedHits(module.SEARCH_HITS, module.SEMANTIC_HITS)


@pytest.fixture(scope="module")
def calc_task(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == CALC)


@pytest.fixture(scope="module")
def calc_index():
    path, _ = materialize("calc")
    files = {str(p.relative_to(path)): p.read_text() for p in path.rglob("*.py") if ".git" not in p.parts}
    return CodeIndex.build(files, "hashing")


def _run(name: str, calc_task, calc_index, tmp_path):
    golden = _golden(name)
    path, _ = materialize("calc")
    subprocess.run(["git", "clone", "-q", str(path), str(tmp_path / "repo")], check=True)
    sandbox = GitDirSandbox(calc_task, tmp_path / "repo")
    hits = _fixed_hits()

    class Scaffold(MoatlessScaffold):
        def _workspace(self, sandbox, index):
            workspace = super()._workspace(sandbox, index)
            workspace.code_index = hits
            return workspace

    policy = Recording(golden["replies"])
    traj = Scaffold(index=calc_index, **golden["swegym_options"]).run(calc_task, sandbox, policy)
    return golden, policy, traj


@pytest.mark.parametrize("name", GOLDENS)
def test_every_request_matches_the_fork_exactly(name, calc_task, calc_index, tmp_path):
    golden, policy, traj = _run(name, calc_task, calc_index, tmp_path)
    states = [r["state"] for r in golden["requests"]]
    assert [c["state"] for c in traj.metadata["scaffold"]["calls"]] == states, traj.metadata["scaffold"]["stop_detail"]
    for i, (want, got) in enumerate(zip(golden["requests"], policy.requests)):
        where = f"request {i} ({want['state']})"
        assert got["tools"] is None, where
        assert got["max_tokens"] == want["max_tokens"], where
        assert got["stop"] == want["stop"], where
        assert len(got["messages"]) == len(want["messages"]), where
        for j, (w, g) in enumerate(zip(want["messages"], got["messages"])):
            assert g == w, f"{where}, message {j} ({w['role']})"
    assert len(policy.requests) == len(golden["requests"])


@pytest.mark.parametrize("name", GOLDENS)
def test_outcome_and_patch_match_the_fork(name, calc_task, calc_index, tmp_path):
    golden, _, traj = _run(name, calc_task, calc_index, tmp_path)
    assert traj.stop_reason == golden["outcome"]["status"], traj.metadata["scaffold"]["stop_detail"]
    assert traj.metadata["scaffold"]["stop_detail"] == golden["outcome"]["message"]
    assert traj.patch == golden["diff"]


@pytest.mark.parametrize("name", GOLDENS)
def test_sft_rows_are_the_forks_prompt_logs(name, calc_task, calc_index, tmp_path):
    from swegym.export.sft import sft_samples

    golden, _, traj = _run(name, calc_task, calc_index, tmp_path)
    rows = sft_samples(traj, "moatless-calls")
    want = [log["messages"] + [{"role": "assistant", "content": log["completion"][0]["content"]}]
            for log in golden["prompt_logs"] if not log["error"]]
    assert [r["messages"] for r in rows] == want
    assert [r["state"] for r in rows] == [log["file"].split("_", 1)[1].removesuffix(".json")
                                          for log in golden["prompt_logs"] if not log["error"]]
