"""swegym's moatless scaffold sends exactly what the SWE-Gym fork sends, request by request.

The goldens (tests/data/moatless/golden_*.json, made by make_goldens.py from the fork's own code)
hold every request the fork made for scripted replies on the calc demo. Here the same replies go
through the real replay policy into swegym's scaffold on a real git checkout, with the same fixed
search hits, and every message of every request is compared exactly, for every state.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from swegym import Policy
from swegym.demo import materialize
from swegym_moatless.index import build_index
from swegym_moatless.scaffold import MoatlessScaffold
from swegym_moatless.workspace import SearchHit, SpanHit
from swegym_replay.policy import ReplayPolicy

from test_moatless_scaffold import CALC, GitDirSandbox

DATA = Path(__file__).parent / "data" / "moatless"
GOLDENS = sorted(p.stem.removeprefix("golden_") for p in DATA.glob("golden_*.json"))


class FixedHits:
    """The fork's CodeIndex interface with the goldens' fixed hits (make_goldens.FixedIndex)."""

    def __init__(self, search: dict[str, list[str]], semantic: dict[str, list[str]]):
        self._search, self._semantic = search, semantic

    @staticmethod
    def _hits(hits: dict[str, list[str]]) -> list[SearchHit]:
        return [SearchHit(path, [SpanHit(s, i) for i, s in enumerate(spans)]) for path, spans in hits.items()]

    def search(self, **_: Any) -> list[SearchHit]:
        return self._hits(self._search)

    def semantic_search(self, **_: Any) -> list[SearchHit]:
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


# The rendered code inside these blocks comes from the code index's renderer (the fork's
# FileContext.create_prompt); everything around them is the state machine's.
_RENDERED = [
    re.compile(r"(<file_context>\n)(.*?)(\n</file_context>)", re.DOTALL),
    re.compile(r"(<search_results>\n)(.*?)(\n</search_results>)", re.DOTALL),
    re.compile(r"(Here's some files that might be relevant when formulating the search.\n)(.*?)(\n\n<file_context>|\Z)",
               re.DOTALL),
]


def _mask_rendered(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        content = m["content"]
        for pattern in _RENDERED:
            content = pattern.sub(lambda g: g.group(1) + "<rendered code>" + g.group(3), content)
        out.append(m | {"content": content})
    return out


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
    return build_index(files, "bm25")


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
    traj = Scaffold(index=calc_index, lint=(name == "lint")).run(calc_task, sandbox, policy)
    return golden, policy, traj


def _compare(golden, policy, traj, mask) -> None:
    states = [r["state"] for r in golden["requests"]]
    assert [c["state"] for c in traj.metadata["calls"]] == states, traj.metadata["stop_detail"]
    for i, (want, got) in enumerate(zip(golden["requests"], policy.requests)):
        where = f"request {i} ({want['state']})"
        assert got["tools"] is None, where
        assert got["max_tokens"] == want["max_tokens"], where
        assert got["stop"] == want["stop"], where
        want_messages, got_messages = want["messages"], got["messages"]
        if mask:
            want_messages, got_messages = _mask_rendered(want_messages), _mask_rendered(got_messages)
        assert len(got_messages) == len(want_messages), where
        for j, (w, g) in enumerate(zip(want_messages, got_messages)):
            assert g == w, f"{where}, message {j} ({w['role']})"
    assert len(policy.requests) == len(golden["requests"])


@pytest.mark.parametrize("name", GOLDENS)
def test_every_request_matches_the_fork_around_the_rendered_code(name, calc_task, calc_index, tmp_path):
    """Prompts, history, retries, re-asks, diffs, lint feedback, limits: all but the code rendering."""
    _compare(*_run(name, calc_task, calc_index, tmp_path), mask=True)


@pytest.mark.xfail(strict=True, reason="the code blocks need the fork's renderer (issue 17 item 6, h-moat-index)")
@pytest.mark.parametrize("name", GOLDENS)
def test_every_request_matches_the_fork_exactly(name, calc_task, calc_index, tmp_path):
    _compare(*_run(name, calc_task, calc_index, tmp_path), mask=False)


@pytest.mark.parametrize("name", GOLDENS)
def test_outcome_and_patch_match_the_fork(name, calc_task, calc_index, tmp_path):
    golden, _, traj = _run(name, calc_task, calc_index, tmp_path)
    assert traj.stop_reason == golden["outcome"]["status"], traj.metadata["stop_detail"]
    assert traj.metadata["stop_detail"] == golden["outcome"]["message"]
    assert traj.patch.strip().splitlines()[-2:] == golden["diff"].strip().splitlines()[-2:]


@pytest.mark.parametrize("name", GOLDENS)
def test_sft_rows_are_the_forks_prompt_logs(name, calc_task, calc_index, tmp_path):
    from swegym.export.sft import sft_samples

    golden, _, traj = _run(name, calc_task, calc_index, tmp_path)
    rows = sft_samples(traj, "moatless-calls")
    want = [log["messages"] + [{"role": "assistant", "content": log["completion"][0]["content"]}]
            for log in golden["prompt_logs"] if not log["error"]]
    assert [_mask_rendered(r["messages"]) for r in rows] == [_mask_rendered(m) for m in want]
    assert [r["state"] for r in rows] == [log["file"].split("_", 1)[1].removesuffix(".json")
                                          for log in golden["prompt_logs"] if not log["error"]]
