"""swegym's port of the fork's code index vs the fork's own search results (goldens.json).

The fork's index (built by make_goldens.py with the same deterministic hashing embedder) is
loaded from prebuilt/ (the Codebase-Index-Lite layout); a second index is built by swegym from
the same files. Both must answer every search exactly as the fork did.
"""
import json
from pathlib import Path

import pytest

pytest.importorskip("tree_sitter_python")
pytest.importorskip("rapidfuzz")

from swegym_moatless.code_index import (  # noqa: E402
    CodeIndex, glob_paths, initial_context, read_faiss_flat, with_folders)
from swegym_moatless.embedders import HashingEmbedder  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data" / "moatless" / "index"
GOLDENS = json.loads((DATA / "goldens.json").read_text())
REPO = DATA / "repo"
FILES = {str(p.relative_to(REPO)): p.read_text() for p in sorted(REPO.rglob("*.py"))}


def read(path):
    return FILES.get(path)


@pytest.fixture(scope="module")
def prebuilt():
    return CodeIndex.from_persist_dir(DATA / "prebuilt", read=read, paths=FILES, embedder=HashingEmbedder())


@pytest.fixture(scope="module")
def built():
    return CodeIndex.build(FILES, HashingEmbedder())


def _hits(response):
    return [[h.file_path, [[s.span_id, s.rank, s.tokens] for s in h.spans]] for h in response.hits]


def _visible(hits):
    """Hits with spans in order, plus the set of files listed without spans.

    The fork lists a file with no spans when a name filter removed them; SearchCode ignores such
    entries, and their order comes from equidistant chunks, which faiss orders by its SIMD
    arithmetic (not imitated), so only their presence is compared.
    """
    return [h for h in hits if h[1]], sorted(h[0] for h in hits if not h[1])


@pytest.mark.parametrize("case", GOLDENS["search"], ids=lambda c: json.dumps(c["args"]))
def test_search_matches_the_fork_on_its_own_index(prebuilt, case):
    response = prebuilt.search(**case["args"])
    assert (response.message, _visible(_hits(response))) == (case["message"], _visible(case["hits"]))


@pytest.mark.parametrize("case", GOLDENS["search"], ids=lambda c: json.dumps(c["args"]))
def test_search_matches_the_fork_on_an_index_swegym_built(built, case):
    # The fork stores a chunk's span ids as list(set(...)) (order varies with PYTHONHASHSEED);
    # swegym keeps first-appearance order. Give swegym's chunks the fork's order, then the results
    # must be identical: same chunks, same vectors, same search.
    fork_order = {(c["metadata"]["file_path"], c["metadata"]["start_line"]): c["metadata"]["span_ids"]
                  for c in GOLDENS["chunks"]}
    for chunk in built.chunks:
        assert sorted(chunk.span_ids) == sorted(fork_order[(chunk.file_path, chunk.start_line)])
        chunk.span_ids = list(fork_order[(chunk.file_path, chunk.start_line)])
    response = built.search(**case["args"])
    assert (response.message, _visible(_hits(response))) == (case["message"], _visible(case["hits"]))


def test_names_index_matches_the_fork(built):
    assert built.blocks_by_class_name == GOLDENS["blocks_by_class_name"]
    assert built.blocks_by_function_name == GOLDENS["blocks_by_function_name"]


def test_initial_context_matches_the_fork(prebuilt):
    case = GOLDENS["initial_context"]
    result = prebuilt.semantic_search(query=case["issue"], max_spans_per_file=5, max_results=50)
    assert _hits(result) == case["hits"]
    assert initial_context(prebuilt, case["issue"]) == case["prompt"]


def test_faiss_file_is_read_without_faiss():
    ids, vectors = read_faiss_flat(DATA / "prebuilt" / "vector_index.faiss")
    assert ids == list(range(len(GOLDENS["chunks"])))
    assert all(len(v) == GOLDENS["settings"]["dimensions"] for v in vectors)
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-5  # unit vectors, as embedded


def test_glob_follows_python_glob(tmp_path):
    import glob

    files = ["a/b.py", "a/tests/test_x.py", "tests/t.py", "c.py", ".hidden/d.py", "a/.e.py", "x_test.py"]
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("")
    for pattern in ["**/*.py", "a/*", "**/tests/**", "tests*", "*_test.py", "test_*.py", "a", "**/test*/**",
                    "*.py", "a/**/*.py", "**", ".hidden/*.py", "b.py", "a/b.py"]:
        expected = sorted(p.rstrip("/") for p in glob.iglob(pattern, root_dir=tmp_path, recursive=True))
        assert sorted(set(glob_paths(with_folders(files), pattern))) == sorted(set(expected)), pattern


# -- from a sandbox: a real git clone on the host -------------------------------------------

class _GitSandbox:
    """The Sandbox calls the index uses (run, read_file), on a real git checkout."""

    def __init__(self, root):
        self.repo_dir = str(root)

    def run(self, command, timeout=120.0, output_limit=30_000):
        import subprocess

        from swegym import CommandResult

        p = subprocess.run(["bash", "-c", command], cwd=self.repo_dir, capture_output=True, text=True, timeout=timeout)
        return CommandResult(p.returncode, p.stdout + p.stderr)

    def read_file(self, path):
        return Path(path).read_text()


@pytest.fixture
def calc_sandbox(tmp_path, monkeypatch):
    import subprocess

    from swegym import load_tasks
    from swegym.demo import materialize

    monkeypatch.setenv("SWEGYM_CACHE", str(tmp_path / "cache"))
    task = next(t for t in load_tasks("demo") if t.instance_id == "swegym-demo__calc-1")
    path, _ = materialize("calc")
    subprocess.run(["git", "clone", "-q", str(path), str(tmp_path / "repo")], check=True)
    return task, _GitSandbox(tmp_path / "repo")


def test_index_for_sandbox_builds_caches_and_reads_current_files(calc_sandbox):
    from swegym_moatless.code_index import cache_root, index_for_sandbox

    task, sandbox = calc_sandbox
    index = index_for_sandbox(sandbox, task, HashingEmbedder())
    folders = list(cache_root().iterdir())
    assert [f.name for f in folders] == [f"{task.repo.replace('/', '__')}@{task.base_commit}-hashing"]
    hits = index.search(function_names=["clamp"]).hits
    assert [(h.file_path, h.span_ids) for h in hits] == [("calc/stats.py", ["clamp"])]
    # tests are outside the semantic search, as in the fork
    assert all(not h.file_path.startswith("tests/") for h in index.search(query="test clamp").hits)
    # an edit in the sandbox is what the next search reads (the vectors stay the base commit's)
    stats = Path(sandbox.repo_dir) / "calc" / "stats.py"
    stats.write_text(stats.read_text().replace("def clamp(", "def clamp_value(") + "\n\ndef clamp(x):\n    return x\n")
    again = index_for_sandbox(sandbox, task, HashingEmbedder())  # from the cache
    assert again.search(function_names=["clamp"]).hits[0].span_ids == ["clamp"]
    assert "def clamp(x)" in again.read("calc/stats.py")
    assert again.read("calc/missing.py") is None


def test_index_for_sandbox_uses_a_prebuilt_index(calc_sandbox, tmp_path):
    import shutil

    from swegym_moatless.code_index import index_for_sandbox

    task, sandbox = calc_sandbox
    store = tmp_path / "index_store"
    shutil.copytree(DATA / "prebuilt", store / task.instance_id)
    index = index_for_sandbox(sandbox, task, HashingEmbedder(), index_store_dir=store)
    assert index.embed_model == "text-embedding-3-small"  # what settings.json says it was built with
    assert len(index.chunks) == len(GOLDENS["chunks"])
    hits = index.search(function_names=["mean"], file_pattern="calc/*").hits
    assert [(h.file_path, h.span_ids) for h in hits] == [("calc/stats.py", ["mean"])]


def test_a_prebuilt_index_needs_its_own_embedder(tmp_path):
    from swegym import SwegymError

    from swegym_moatless.code_index import CodeIndex

    index = CodeIndex.from_persist_dir(DATA / "prebuilt", read=read, paths=FILES, embedder=HashingEmbedder(dim=64))
    with pytest.raises(SwegymError, match="256 dimensions"):
        index.search(query="median")
    (tmp_path / "settings.json").write_text("{}")
    with pytest.raises(SwegymError, match="not a readable MoatlessTools index"):
        CodeIndex.from_persist_dir(tmp_path, read=read, paths=FILES)


@pytest.mark.parametrize("case", GOLDENS["identify"], ids=lambda c: f"{json.dumps(c['args'])}-{c['max_tokens']}")
def test_identify_search_result_context_matches_the_fork(prebuilt, case):
    """Search → ranked spans → IdentifyCode's file context (shared token budget, init, related, small classes)."""
    from types import SimpleNamespace

    from swegym_moatless.context import FileContext

    result = prebuilt.search(**case["args"])
    ranked = [SimpleNamespace(file_path=h.file_path, span_id=s.span_id, rank=s.rank, tokens=s.tokens)
              for h in result.hits for s in h.spans]
    ctx = FileContext(read, max_tokens=case["max_tokens"])
    ctx.add_ranked_spans(ranked)
    if ctx.files:
        ctx.expand_context_with_init_spans()
        ctx.expand_context_with_related_spans(max_tokens=case["max_tokens"], set_tokens=True)
        ctx.expand_small_classes(max_tokens=case["max_tokens"])
    # related spans are added in set order in the fork (PYTHONHASHSEED), sorted in swegym: the
    # spans and their allowances must agree; the prompt (which walks the file) must be identical
    def key(rows):
        return [(r["file_path"], sorted((s["span_id"], s["tokens"] or 0) for s in r.get("spans", []))) for r in rows]

    assert key(ctx.dict()) == key(case["context"])
    assert ctx.create_prompt(show_span_ids=True, show_line_numbers=False, exclude_comments=True,
                             show_outcommented_code=True, outcomment_code_comment="... rest of the code") == case["prompt"]


def test_crlf_files_are_read_in_text_mode_as_the_fork_reads_them():
    crlf = {p: t.replace("\n", "\r\n") for p, t in FILES.items()}
    index = CodeIndex.build(crlf, HashingEmbedder())
    plain = CodeIndex.build(FILES, HashingEmbedder())
    assert [(c.file_path, c.text) for c in index.chunks] == [(c.file_path, c.text) for c in plain.chunks]
    assert index.search(function_names=["median"]).hits[0].span_ids == ["median"]


def test_a_lexical_ranker_is_refused_and_hashing_is_deterministic():
    from swegym import SwegymError

    from swegym_moatless.code_index import resolve_embedder

    with pytest.raises(SwegymError, match="needs vectors"):
        resolve_embedder("bm25")
    a, b = HashingEmbedder().embed(["def median(values)"]), resolve_embedder("hashing").embed(["def median(values)"])
    assert a == b and abs(sum(x * x for x in a[0]) - 1) < 1e-9
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_goldens", DATA / "make_goldens.py")
    make_goldens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_goldens)  # the formula the goldens were made with
    assert a[0] == make_goldens.hashing_vector("def median(values)")
