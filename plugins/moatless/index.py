"""The code index: a repository's Python files as spans, searchable by name, snippet, pattern and meaning.

Built once per (repository, commit, embedder) and cached on the host under
``$SWEGYM_CACHE/index/<owner>__<name>@<commit>-<embedder>/`` (default ``~/.cache/swegym``), so
the next rollout on the same task reuses it. The sources come out of the sandbox in one command.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import sys
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from swegym import InfrastructureError, SwegymError

from .embedders import BM25Ranker, Embedder, code_words, create_embedder
from .spans import Span, split_python

INDEX_FORMAT = 1


@dataclass
class Hit:
    """One search result: a span and its rank (0 = best)."""

    file_path: str
    span_id: str
    rank: int
    tokens: int
    score: float = 0.0


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    parts = path.split("/")
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or any(
        p in ("tests", "test", "testing") for p in parts[:-1]
    )


def match_pattern(path: str, pattern: str | None) -> bool:
    """Glob match that also accepts ``**/x``, a bare file name and a folder prefix."""
    if not pattern:
        return True
    pattern = pattern.strip().removeprefix("./").removeprefix("/testbed/").lstrip("/")
    if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, "*/" + pattern):
        return True
    if pattern.startswith("**/") and fnmatch.fnmatch(path, pattern[3:]):
        return True
    bare = pattern.rstrip("/")
    return path == bare or path.startswith(bare + "/") or path.endswith("/" + bare)


def cache_root() -> Path:
    root = os.environ.get("SWEGYM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swegym"
    return Path(root) / "index"


def cache_path(repo: str, commit: str, embedder_name: str) -> Path:
    return cache_root() / f"{repo.replace('/', '__')}@{commit}-{embedder_name}"


class CodeIndex:
    """Spans of every indexed file plus a ranker for natural-language queries."""

    def __init__(self, files: dict[str, str], embedder: Embedder, spans: list[Span] | None = None,
                 vectors: list[list[float]] | None = None, progress: bool = True):
        self.files = dict(sorted(files.items()))
        self.embedder = embedder
        self.spans = spans if spans is not None else [s for path, src in self.files.items() for s in split_python(path, src)]
        self._by_id = {(s.file_path, s.span_id): s for s in self.spans}
        self.vectors = vectors
        if embedder.lexical:
            assert isinstance(embedder, BM25Ranker)
            embedder.fit([self._document(s) for s in self.spans])
        elif self.vectors is None:
            self.vectors = self._embed_all(progress)

    # -- building -------------------------------------------------------------------------
    def _document(self, span: Span) -> str:
        lines = self.files[span.file_path].split("\n")
        return f"{span.file_path} {span.span_id}\n{span.text(lines)}"

    def _embed_all(self, progress: bool) -> list[list[float]]:
        from tqdm import tqdm

        docs = [self._document(s) for s in self.spans]
        out: list[list[float]] = []
        step = 64
        with tqdm(total=len(docs), desc=f"index ({self.embedder.name})", unit="span", file=sys.stderr,
                  disable=not progress or len(docs) < 200) as bar:
            for i in range(0, len(docs), step):
                out.extend(self.embedder.embed(docs[i : i + step]))
                bar.update(len(docs[i : i + step]))
        return out

    def save(self, folder: Path) -> None:
        """Write atomically: a half-written cache must never be loaded."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        (tmp / "files.json").write_text(json.dumps(self.files))
        (tmp / "spans.json").write_text(json.dumps([s.to_dict() for s in self.spans]))
        dim = 0
        if self.vectors:
            dim = len(self.vectors[0])
            flat = array("f", (x for v in self.vectors for x in v))
            (tmp / "vectors.f32").write_bytes(flat.tobytes())
        (tmp / "meta.json").write_text(json.dumps({"format": INDEX_FORMAT, "embedder": self.embedder.name,
                                                   "spans": len(self.spans), "dim": dim}))
        try:
            tmp.rename(folder)
        except OSError:  # another process saved it first
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, embedder: Embedder) -> "CodeIndex":
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != INDEX_FORMAT or meta.get("embedder") != embedder.name:
            raise ValueError("stale index format")
        files = json.loads((folder / "files.json").read_text())
        spans = [Span.from_dict(r) for r in json.loads((folder / "spans.json").read_text())]
        vectors = None
        if meta.get("dim"):
            flat = array("f")
            flat.frombytes((folder / "vectors.f32").read_bytes())
            dim = meta["dim"]
            vectors = [list(flat[i : i + dim]) for i in range(0, len(flat), dim)]
        return cls(files, embedder, spans=spans, vectors=vectors)

    # -- lookups --------------------------------------------------------------------------
    def span(self, file_path: str, span_id: str) -> Span | None:
        return self._by_id.get((file_path, span_id))

    def spans_of(self, file_path: str) -> list[Span]:
        return [s for s in self.spans if s.file_path == file_path]

    def _hits(self, spans: Iterable[Span], scores: Sequence[float] | None = None) -> list[Hit]:
        spans = list(spans)
        scores = list(scores) if scores is not None else [0.0] * len(spans)
        return [Hit(s.file_path, s.span_id, rank, s.tokens, score) for rank, (s, score) in enumerate(zip(spans, scores))]

    def _candidates(self, file_pattern: str | None, include_tests: bool = False) -> list[int]:
        return [i for i, s in enumerate(self.spans)
                if match_pattern(s.file_path, file_pattern) and (include_tests or not is_test_file(s.file_path))]

    def find_class(self, name: str, file_pattern: str | None = None, max_results: int = 25) -> list[Hit]:
        """The class span first, then its methods."""
        found = [self.spans[i] for i in self._candidates(file_pattern, True)
                 if self.spans[i].class_name == name and self.spans[i].kind in ("class", "method")]
        found.sort(key=lambda s: (s.kind != "class", s.file_path, s.start_line))
        return self._hits(found[:max_results])

    def find_function(self, name: str, class_name: str | None = None, file_pattern: str | None = None,
                      max_results: int = 25) -> list[Hit]:
        found = [self.spans[i] for i in self._candidates(file_pattern, True)
                 if self.spans[i].kind in ("function", "method") and self.spans[i].name == name
                 and (class_name is None or self.spans[i].class_name == class_name)
                 and ":" not in self.spans[i].span_id.rsplit(".", 1)[-1]]
        found.sort(key=lambda s: (is_test_file(s.file_path), s.file_path, s.start_line))
        return self._hits(found[:max_results])

    def find_snippet(self, code: str, file_pattern: str | None = None, max_results: int = 25) -> list[Hit]:
        """Spans containing ``code`` verbatim (whitespace at line ends ignored)."""
        needle = "\n".join(line.rstrip() for line in code.strip("\n").split("\n")).strip()
        if not needle:
            return []
        found: list[Span] = []
        for path, source in self.files.items():
            if not match_pattern(path, file_pattern):
                continue
            text = "\n".join(line.rstrip() for line in source.split("\n"))
            start = text.find(needle)
            while start != -1 and len(found) < max_results:
                line = text.count("\n", 0, start) + 1
                span = next((s for s in self.spans_of(path) if s.start_line <= line <= s.end_line), None)
                if span and span not in found:
                    found.append(span)
                start = text.find(needle, start + 1)
        return self._hits(found[:max_results])

    def semantic_search(self, query: str, file_pattern: str | None = None, max_results: int = 25,
                        include_tests: bool = False) -> list[Hit]:
        candidates = self._candidates(file_pattern, include_tests)
        if not candidates or not query.strip():
            return []
        if self.embedder.lexical:
            all_scores = self.embedder.scores(query)  # type: ignore[attr-defined]
            scored = [(all_scores[i], i) for i in candidates if all_scores[i] > 0]
        else:
            q = self.embedder.embed([query], query=True)[0]
            assert self.vectors is not None
            scored = [(sum(a * b for a, b in zip(q, self.vectors[i])), i) for i in candidates]
            # a light lexical tie-breaker: identifiers named in the query matter a lot in code
            words = set(code_words(query))
            scored = [(s + 0.05 * len(words & set(code_words(self.spans[i].span_id))), i) for s, i in scored]
        scored.sort(key=lambda t: -t[0])
        top = scored[:max_results]
        return self._hits([self.spans[i] for _, i in top], [s for s, _ in top])

    def search(self, *, query: str | None = None, code_snippet: str | None = None,
               class_names: Sequence[str] = (), function_names: Sequence[str] = (),
               file_pattern: str | None = None, max_results: int = 25) -> list[Hit]:
        """What the SearchCode action asks for: names first, then snippet, then meaning."""
        hits: list[Hit] = []
        if class_names and function_names:
            for c in class_names:
                for f in function_names:
                    hits += self.find_function(f, class_name=c, file_pattern=file_pattern)
        elif class_names:
            for c in class_names:
                hits += self.find_class(c, file_pattern=file_pattern)
        elif function_names:
            for f in function_names:
                hits += self.find_function(f, file_pattern=file_pattern)
        if code_snippet:
            hits += self.find_snippet(code_snippet, file_pattern=file_pattern)
        if query and (not hits or not (class_names or function_names or code_snippet)):
            hits += self.semantic_search(query, file_pattern=file_pattern, max_results=max_results)
        seen: set[tuple[str, str]] = set()
        unique: list[Hit] = []
        for h in hits:
            if (h.file_path, h.span_id) not in seen:
                seen.add((h.file_path, h.span_id))
                unique.append(Hit(h.file_path, h.span_id, len(unique), h.tokens, h.score))
        return unique[:max_results]


# -- building from a sandbox ----------------------------------------------------------------

_DUMP_SCRIPT = r"""
import io, json, subprocess, sys, tarfile
commit = sys.argv[1]
data = subprocess.run(["git", "archive", "--format=tar", commit], capture_output=True, check=True).stdout
out = {}
with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    for m in tar.getmembers():
        if m.isfile() and m.name.endswith(".py") and m.size < 1_000_000:
            raw = tar.extractfile(m).read()
            try:
                out[m.name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
print("@@SWEGYM_FILES@@" + json.dumps(out))
"""


def read_repo_files(sandbox, commit: str | None = None) -> dict[str, str]:
    """Every Python file of the sandbox repository at ``commit`` (default HEAD), in one command."""
    import shlex

    repo = getattr(sandbox, "repo_dir", "/testbed")
    cmd = f"cd {shlex.quote(repo)} && python3 -c {shlex.quote(_DUMP_SCRIPT)} {shlex.quote(commit or 'HEAD')}"
    result = sandbox.run(cmd, timeout=300, output_limit=500_000_000)
    marker = result.output.find("@@SWEGYM_FILES@@")
    if result.exit_code != 0 or marker < 0 or result.truncated:
        raise InfrastructureError(f"could not read the repository's Python files from the sandbox "
                                  f"(exit {result.exit_code}): {result.output[-500:]}")
    return json.loads(result.output[marker + len("@@SWEGYM_FILES@@"):].strip())


def build_index(files: dict[str, str], embedder: str | Embedder = "auto", *, repo: str | None = None,
                commit: str | None = None, use_cache: bool = True) -> CodeIndex:
    """Index ``files``; with ``repo`` and ``commit`` the result is cached and reused."""
    emb = create_embedder(embedder)
    folder = cache_path(repo, commit, emb.name) if (repo and commit and use_cache) else None
    if folder is not None and (folder / "meta.json").exists():
        try:
            return CodeIndex.load(folder, emb)
        except (ValueError, OSError, json.JSONDecodeError, KeyError, TypeError):
            pass  # a stale or damaged cache is rebuilt below
    index = CodeIndex(files, emb)
    if folder is not None and not folder.exists():
        index.save(folder)
    return index


def index_for_sandbox(sandbox, task, embedder: str | Embedder = "auto", use_cache: bool = True) -> CodeIndex:
    """The index of the task's repository at base_commit (read from the sandbox on a cache miss)."""
    emb = create_embedder(embedder)
    folder = cache_path(task.repo, task.base_commit, emb.name)
    if use_cache and (folder / "meta.json").exists():
        try:
            return CodeIndex.load(folder, emb)
        except (ValueError, OSError, json.JSONDecodeError, KeyError, TypeError):
            pass
    files = read_repo_files(sandbox, task.base_commit)
    if not files:
        raise SwegymError(f"{task.instance_id}: the repository at {task.base_commit} has no Python files to index")
    return build_index(files, emb, repo=task.repo, commit=task.base_commit, use_cache=use_cache)
