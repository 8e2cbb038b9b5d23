"""The file context: which spans of which files the agent has identified, rendered as Moatless shows it.

Rendering keeps the chosen spans (wrapped in ``<span id='...'>`` tags when span ids are shown,
optionally with line numbers) and replaces everything in between with one
``# ... rest of the code`` line, so the model sees where code was left out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from .spans import Span, count_tokens, split_python


@dataclass
class ContextFile:
    file_path: str
    content: str
    span_ids: list[str] = field(default_factory=list)

    def spans(self) -> list[Span]:
        return split_python(self.file_path, self.content)

    def span(self, span_id: str) -> Span | None:
        return next((s for s in self.spans() if s.span_id == span_id), None)


class FileContext:
    """Files and span ids in insertion order; file contents come from ``read`` (the sandbox)."""

    def __init__(self, read: Callable[[str], str | None]):
        self._read = read
        self.files: dict[str, ContextFile] = {}

    def __bool__(self) -> bool:
        return any(f.span_ids for f in self.files.values())

    def get_file(self, file_path: str) -> ContextFile | None:
        return self.files.get(file_path)

    def _file(self, file_path: str) -> ContextFile | None:
        if file_path not in self.files:
            content = self._read(file_path)
            if content is None:
                return None
            self.files[file_path] = ContextFile(file_path, content)
        return self.files[file_path]

    def refresh(self, file_path: str) -> None:
        """Re-read a file after an edit; span ids stay valid because they are names."""
        content = self._read(file_path)
        if file_path in self.files and content is not None:
            self.files[file_path].content = content

    def add_spans(self, file_path: str, span_ids: Iterable[str]) -> list[str]:
        """Add spans; return the ids that do not exist in the file (nothing is added for them)."""
        f = self._file(file_path)
        span_ids = list(span_ids)
        if f is None:
            return span_ids
        known = {s.span_id: s for s in f.spans()}
        missing = [sid for sid in span_ids if sid not in known]
        for sid in span_ids:
            if sid in known and sid not in f.span_ids:
                f.span_ids.append(sid)
                for part in known[sid].parts:  # a definition cut in parts is shown whole
                    if part not in f.span_ids:
                        f.span_ids.append(part)
        return missing

    def has_span(self, file_path: str, span_id: str) -> bool:
        f = self.files.get(file_path)
        return bool(f and span_id in f.span_ids)

    def all_span_ids(self, file_path: str) -> list[str]:
        f = self.files.get(file_path)
        return list(f.span_ids) if f else []

    def tokens(self) -> int:
        total = 0
        for f in self.files.values():
            for s in f.spans():
                if s.span_id in f.span_ids:
                    total += s.tokens
        return total

    # -- rendering ------------------------------------------------------------------------
    def render(self, *, show_span_ids: bool = True, show_line_numbers: bool = False,
               outcomment: str = "... rest of the code") -> str:
        parts = [self.render_file(f, show_span_ids=show_span_ids, show_line_numbers=show_line_numbers,
                                  outcomment=outcomment)
                 for f in self.files.values() if f.span_ids]
        return "\n\n".join(parts)

    @staticmethod
    def render_file(f: ContextFile, *, show_span_ids: bool = True, show_line_numbers: bool = False,
                    outcomment: str = "... rest of the code", only: Iterable[str] | None = None) -> str:
        lines = f.content.split("\n")
        spans = f.spans()
        wanted = set(only if only is not None else f.span_ids)
        # a method needs its class header around it to make sense
        classes = {s.class_name for s in spans if s.span_id in wanted and s.kind == "method"}
        shown = [s for s in spans if s.span_id in wanted or (s.kind == "class" and s.class_name in classes)]
        out = [f.file_path, "```python"]
        last_end = 0
        for s in shown:
            if s.start_line > last_end + 1:
                indent = _indent_of(lines, s.start_line)
                out.append(f"{indent}# {outcomment}")
            if show_span_ids:
                out.append("")
                out.append(f"<span id='{s.span_id}'>")
            first = s.start_line
            while first < s.end_line and not lines[first - 1].strip():
                first += 1  # blank lines before a definition are not worth showing
            for number in range(first, s.end_line + 1):
                text = lines[number - 1]
                out.append(f"{number:>4} {text}" if show_line_numbers else text)
            if show_span_ids:
                out.append("</span>")
            last_end = s.end_line
        if last_end < len(lines) and any(line.strip() for line in lines[last_end:]):
            out.append(f"# {outcomment}")
        out.append("```")
        return "\n".join(out)

    def to_metadata(self) -> list[dict]:
        """``[{"file_path", "span_ids", "content"}]``: what the agent looked at (for verifiers)."""
        rows = []
        for f in self.files.values():
            if not f.span_ids:
                continue
            rows.append({
                "file_path": f.file_path,
                "span_ids": list(f.span_ids),
                "content": self.render_file(f, show_span_ids=False, show_line_numbers=False),
            })
        return rows


def _indent_of(lines: list[str], line_number: int) -> str:
    for text in lines[line_number - 1 :]:
        if text.strip():
            return text[: len(text) - len(text.lstrip())]
    return ""


def render_search_results(hits, read: Callable[[str], str | None], max_tokens: int = 4000) -> tuple[str, list[tuple[str, str]]]:
    """Search hits as file context with span ids, best first, within a token budget.

    Returns the text and the (file, span) pairs shown.
    """
    ctx = FileContext(read)
    used = 0
    shown: list[tuple[str, str]] = []
    for hit in hits:
        if used and used + hit.tokens > max_tokens:
            continue
        if not ctx.add_spans(hit.file_path, [hit.span_id]):
            used += hit.tokens
            shown.append((hit.file_path, hit.span_id))
    return ctx.render(show_span_ids=True), shown


__all__ = ["FileContext", "ContextFile", "render_search_results", "count_tokens"]
