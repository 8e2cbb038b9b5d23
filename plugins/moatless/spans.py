"""Cut Python source into spans (imports, module code, classes, functions) with stable ids.

Span ids follow MoatlessTools: ``imports``, ``impl`` / ``impl:2`` for other module-level code,
``ClassName`` for a class header and its class-level statements, ``ClassName.method`` for a
method, ``function`` for a module function. A span longer than ``MAX_SPAN_TOKENS`` is cut at
line boundaries into ``id``, ``id:2``, ``id:3`` … so every span fits in a prompt. Ids depend on
names only, so they survive edits elsewhere in the file.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

MAX_SPAN_TOKENS = 750
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A cheap, model-free estimate of BPE tokens (words and punctuation)."""
    return len(_TOKEN_RE.findall(text))


@dataclass
class Span:
    """One contiguous run of lines of a file (1-based, inclusive)."""

    file_path: str
    span_id: str
    kind: str  # "imports" | "module" | "class" | "function" | "method"
    start_line: int
    end_line: int
    tokens: int = 0
    class_name: str | None = None
    name: str | None = None
    #: ids of the spans that are the same definition cut in parts (first part only)
    parts: list[str] = field(default_factory=list)

    def text(self, lines: list[str]) -> str:
        return "\n".join(lines[self.start_line - 1 : self.end_line])

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, row: dict) -> "Span":
        return cls(**row)


def _start_with_decorators(node: ast.AST) -> int:
    decos = getattr(node, "decorator_list", None) or []
    return min([node.lineno] + [d.lineno for d in decos])


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


class _Builder:
    def __init__(self, file_path: str, lines: list[str], max_tokens: int):
        self.file_path = file_path
        self.lines = lines
        self.max_tokens = max_tokens
        self.spans: list[Span] = []
        self.used: dict[str, int] = {}

    def _unique(self, span_id: str) -> str:
        n = self.used.get(span_id, 0) + 1
        self.used[span_id] = n
        return span_id if n == 1 else f"{span_id}:{n}"

    def add(self, span_id: str, kind: str, start: int, end: int, class_name: str | None = None,
            name: str | None = None) -> None:
        """Add a span, cutting it into parts when it is longer than the token limit."""
        if end < start:
            return
        span_id = self._unique(span_id)
        chunks: list[tuple[int, int]] = []
        chunk_start, tokens = start, 0
        for number in range(start, end + 1):
            line_tokens = count_tokens(self.lines[number - 1])
            if tokens and tokens + line_tokens > self.max_tokens:
                chunks.append((chunk_start, number - 1))
                chunk_start, tokens = number, 0
            tokens += line_tokens
        chunks.append((chunk_start, end))
        first: Span | None = None
        for index, (a, b) in enumerate(chunks):
            sid = span_id if index == 0 else f"{span_id}:{index + 1}"
            span = Span(self.file_path, sid, kind, a, b, count_tokens("\n".join(self.lines[a - 1 : b])),
                        class_name, name)
            if first is None:
                first = span
            else:
                first.parts.append(sid)
            self.spans.append(span)

    def module_body(self, body: list[ast.stmt]) -> None:
        pending: list[ast.stmt] = []  # consecutive plain statements become one span

        def flush() -> None:
            if not pending:
                return
            start = _start_with_decorators(pending[0])
            end = pending[-1].end_lineno or pending[-1].lineno
            if all(_is_import(n) for n in pending):
                self.add("imports", "imports", start, end)
            else:
                self.add("impl", "module", start, end)
            pending.clear()

        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                flush()
                self.add(node.name, "function", _start_with_decorators(node), node.end_lineno or node.lineno,
                         name=node.name)
            elif isinstance(node, ast.ClassDef):
                flush()
                self.class_body(node)
            else:
                if pending and _is_import(pending[-1]) != _is_import(node):
                    flush()
                pending.append(node)
        flush()

    def class_body(self, node: ast.ClassDef) -> None:
        methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        start = _start_with_decorators(node)
        end = node.end_lineno or node.lineno
        if not methods:
            self.add(node.name, "class", start, end, class_name=node.name, name=node.name)
            return
        # The class span: header + everything before the first method (docstring, attributes).
        first_method = _start_with_decorators(methods[0])
        self.add(node.name, "class", start, first_method - 1, class_name=node.name, name=node.name)
        for index, method in enumerate(methods):
            m_start = _start_with_decorators(method)
            # class-level statements between methods belong to the method before them
            m_end = (_start_with_decorators(methods[index + 1]) - 1) if index + 1 < len(methods) else end
            self.add(f"{node.name}.{method.name}", "method", m_start, m_end, class_name=node.name, name=method.name)


def split_python(file_path: str, source: str, max_tokens: int = MAX_SPAN_TOKENS) -> list[Span]:
    """Spans of one Python file, in line order. Unparsable files become one ``impl`` span list."""
    lines = source.split("\n")
    builder = _Builder(file_path, lines, max_tokens)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        builder.add("impl", "module", 1, len(lines))
        return builder.spans
    builder.module_body(tree.body)
    spans = sorted(builder.spans, key=lambda s: s.start_line)
    # Blank lines and comments between spans join the span after them, so spans tile the file.
    for prev, nxt in zip(spans, spans[1:]):
        if nxt.start_line > prev.end_line + 1:
            nxt.start_line = prev.end_line + 1
    if spans:  # a header comment and trailing blank lines belong to the first and last span
        spans[0].start_line = 1
        spans[-1].end_line = max(spans[-1].end_line, len(lines))
    return spans


def trim_blank(lines: list[str], start: int, end: int) -> tuple[int, int]:
    """Narrow [start, end] so it neither begins nor ends on blank lines."""
    while start < end and not lines[start - 1].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return start, end
