"""The fork's file context: which spans of which files the model is shown, rendered as the fork does.

Rendering follows MoatlessTools 0.0.2 ``ContextFile._to_prompt`` exactly: a bare ````` fence
under the file path, ``<span id='...'>`` opening tags and no closing tags, line numbers
left-aligned in 6 columns, comments dropped when asked, ``# ...`` where code is left out, and a
span given a token allowance shows only as many of its blocks as fit (the initial context adds
every span with 1 token, so only each span's first block is shown). File contents come from
``read`` (the sandbox), parsed once per file version.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from .codeblocks import BlockSpan, BlockType, CodeBlock, Group, Module, SpanType, parse_cached, text_mode


@dataclass
class ContextSpan:
    span_id: str
    tokens: Optional[int] = None


@dataclass
class _Current:
    span_id: Optional[str] = None
    tokens: int = 0


_FOLDED = (BlockType.COMMENT, BlockType.COMMENTED_OUT_CODE, BlockType.SPACE)


@dataclass
class ContextFile:
    file_path: str
    content: str
    module: Optional[Module]
    spans: list[ContextSpan] = field(default_factory=list)
    show_all_spans: bool = False

    @property
    def span_ids(self) -> set[str]:
        return {s.span_id for s in self.spans}

    def add_span(self, span_id: str, tokens: Optional[int] = None) -> bool:
        """Add (or re-size) a span; False when the file has no such span (nothing is added)."""
        for span in self.spans:
            if span.span_id == span_id:
                span.tokens = tokens
                return True
        if self.module is not None and self.module.find_span_by_id(span_id):
            self.spans.append(ContextSpan(span_id, tokens))
            return True
        return False

    def remove_span(self, span_id: str) -> None:
        self.spans = [s for s in self.spans if s.span_id != span_id]

    def get_spans(self) -> list[BlockSpan]:
        if self.module is None:
            return []
        return [b for b in (self.module.find_span_by_id(s.span_id) for s in self.spans) if b]

    def expand_small_classes(self, max_tokens: int) -> None:
        """One class span alone in a file: show the whole class when it is under ``max_tokens``."""
        if self.module is None or len(self.spans) != 1:
            return
        span = self.module.find_span_by_id(self.spans[0].span_id)
        if span and span.initiating_block.type == BlockType.CLASS and span.initiating_block.sum_tokens() < max_tokens:
            for span_id in span.initiating_block.all_span_ids():
                self.add_span(span_id)

    def context_size(self) -> int:
        if self.module is None:
            return 0
        return sum(s.tokens for s in (self.module.find_span_by_id(i) for i in self.span_ids) if s)

    def expand_context_with_init_spans(self) -> None:
        if self.module is None:
            return
        for child in self.module.children:
            if child.type == BlockType.IMPORT and child.belongs_to_span.span_type == SpanType.INITATION:
                self.add_span(child.belongs_to_span.span_id)
        for span_id in list(self.span_ids):
            span = self.module.find_span_by_id(span_id)
            if span and span.initiating_block.type == BlockType.CLASS:
                for child in span.initiating_block.children:
                    if child.belongs_to_span.span_type == SpanType.INITATION:
                        self.add_span(child.belongs_to_span.span_id)

    # -- rendering ------------------------------------------------------------------------
    def to_prompt(self, show_span_ids: bool = False, show_line_numbers: bool = False,
                  exclude_comments: bool = False, show_outcommented_code: bool = False,
                  outcomment_code_comment: str = "...") -> str:
        if self.module is None:
            return ""  # the fork renders non-Python files by line spans; swegym indexes Python only
        if not self.show_all_spans and not self.span_ids:
            return ""
        code = self._render(self.module, _Current(), show_outcommented_code, outcomment_code_comment,
                            show_span_ids, show_line_numbers, exclude_comments)
        return f"{self.file_path}\n```\n{code}\n```\n"

    def _find_span(self, block: CodeBlock) -> Optional[ContextSpan]:
        if not block.belongs_to_span:
            return None
        return next((s for s in self.spans if s.span_id == block.belongs_to_span.span_id), None)

    def _render(self, block: CodeBlock, current: _Current, show_outcommented: bool, comment: str,
                show_span_id: bool, show_line_numbers: bool, exclude_comments: bool) -> str:
        out = ""
        folded: Optional[CodeBlock] = None
        child = None
        for child in block.children:
            if exclude_comments and child.type.group == Group.COMMENT:
                continue
            new_span_tag = False
            show = False
            span = self._find_span(child)
            if span:
                if span.span_id != current.span_id:
                    show, new_span_tag = True, show_span_id
                    current = _Current(span.span_id)
                elif not span.tokens:
                    show = True
                else:
                    if child.type.group == Group.IMPLEMENTATION and child.type not in (
                            BlockType.COMPOUND, BlockType.DEPENDENT_CLAUSE):
                        child_tokens = child.sum_tokens()
                    else:
                        child_tokens = child.tokens
                    if current.tokens + child_tokens <= span.tokens:
                        show = True
                    current.tokens += child_tokens
            elif child.has_any_span(self.span_ids):
                show = True
                if child.belongs_to_span and current.span_id != child.belongs_to_span.span_id:
                    new_span_tag = show_span_id
                    current = _Current(child.belongs_to_span.span_id)
            if self.show_all_spans:
                show = True
            if show:
                if folded:
                    out += folded.prompt_string(show_line_numbers=show_line_numbers)
                folded = None
                out += child.prompt_string(show_span_id=new_span_tag, show_line_numbers=show_line_numbers)
                out += self._render(child, current, show_outcommented, comment, show_span_id,
                                    show_line_numbers, exclude_comments)
            elif show_outcommented and not folded:
                folded = child.commented_out(comment)
                folded.start_line = child.start_line
        if comment and folded and child is not None and child.type not in _FOLDED:
            out += folded.prompt_string(show_line_numbers=show_line_numbers)
        return out


class FileContext:
    """Files in the order they were added, each with its spans; ``read`` gives a file's text."""

    def __init__(self, read: Callable[[str], Optional[str]], max_tokens: int = 4000):
        self._read = read
        self.max_tokens = max_tokens
        self._files: dict[str, ContextFile] = {}

    @property
    def files(self) -> list[ContextFile]:
        return list(self._files.values())

    @staticmethod
    def _module(file_path: str, content: str) -> Optional[Module]:
        return parse_cached(content, file_path) if file_path.endswith(".py") else None

    def get_context_file(self, file_path: str) -> Optional[ContextFile]:
        if file_path not in self._files:
            content = self._read(file_path)
            if content is None:
                return None
            content = text_mode(content)
            self._files[file_path] = ContextFile(file_path, content, self._module(file_path, content))
        return self._files[file_path]

    def refresh(self, file_path: str) -> None:
        """Re-read a file after an edit; span ids stay (the fork re-parses the saved file too)."""
        f = self._files.get(file_path)
        content = self._read(file_path)
        if f is not None and content is not None:
            content = text_mode(content)
            f.content, f.module = content, self._module(file_path, content)

    def add_span_to_context(self, file_path: str, span_id: str, tokens: Optional[int] = None) -> bool:
        f = self.get_context_file(file_path)
        return bool(f and f.add_span(span_id, tokens))

    def add_spans_to_context(self, file_path: str, span_ids: Iterable[str], tokens: Optional[int] = None) -> None:
        f = self.get_context_file(file_path)
        if f:
            for span_id in span_ids:
                f.add_span(span_id, tokens)

    def add_file(self, file_path: str, show_all_spans: bool = False) -> Optional[ContextFile]:
        f = self.get_context_file(file_path)
        if f and show_all_spans:
            f.show_all_spans = True
        return f

    def get_file(self, file_path: str, add_if_not_found: bool = False) -> Optional[ContextFile]:
        if file_path in self._files or not add_if_not_found:
            return self._files.get(file_path)
        return self.get_context_file(file_path)

    def add_files_with_spans(self, files_with_spans: Iterable[tuple[str, Iterable[str]]]) -> None:
        for file_path, span_ids in files_with_spans:
            self.add_spans_to_context(file_path, span_ids)

    def to_files_with_spans(self) -> list[tuple[str, list[str]]]:
        return [(path, [s.span_id for s in f.spans]) for path, f in self._files.items()]

    def remove_span_from_context(self, file_path: str, span_id: str, remove_file: bool = False) -> None:
        f = self.get_context_file(file_path)
        if f:
            f.remove_span(span_id)
            if not f.spans and remove_file:
                self._files.pop(file_path, None)

    def get_spans(self, file_path: str) -> list[BlockSpan]:
        f = self.get_context_file(file_path)
        return f.get_spans() if f else []

    def expand_small_classes(self, max_tokens: int) -> None:
        for f in self._files.values():
            f.expand_small_classes(max_tokens)

    def add_ranked_spans(self, ranked_spans: list, decay_rate: float = 1.05, min_tokens: int = 50) -> None:
        """Search hits (objects with file_path, span_id, rank, tokens) shared out over ``max_tokens``.

        All of them when they fit; else lowest-ranked dropped until each can have
        ``min(tokens, 50)``, and the rest handed out with weight ``1.05 ** -rank`` (the fork's
        IdentifyCode search-result context).
        """
        if not ranked_spans:
            return
        if sum(s.tokens for s in ranked_spans) < self.max_tokens:
            for s in ranked_spans:
                self.add_span_to_context(s.file_path, s.span_id)
            return
        ranked_spans.sort(key=lambda s: s.rank)
        base = sum(min(s.tokens, min_tokens) for s in ranked_spans)
        while base > self.max_tokens and ranked_spans:
            removed = ranked_spans.pop()
            base -= min(removed.tokens, min_tokens)
        if not ranked_spans:
            raise ValueError("Not enough tokens to meet the minimum token requirement for any span")
        remaining = self.max_tokens - base
        total = sum(decay_rate ** (-s.rank) for s in ranked_spans)
        for s in ranked_spans:
            allocated = min(s.tokens, min_tokens + int(remaining * (decay_rate ** (-s.rank) / total)))
            self.add_span_to_context(s.file_path, s.span_id, min(s.tokens, allocated))

    def has_span(self, file_path: str, span_id: str) -> bool:
        f = self._files.get(file_path)
        return bool(f and span_id in f.span_ids)

    def get_span(self, file_path: str, span_id: str) -> Optional[BlockSpan]:
        f = self.get_context_file(file_path)
        return f.module.find_span_by_id(span_id) if f and f.module else None

    def context_size(self) -> int:
        return sum(f.context_size() for f in self._files.values())

    def expand_context_with_init_spans(self) -> None:
        for f in self._files.values():
            f.expand_context_with_init_spans()

    def expand_context_with_related_spans(self, max_tokens: int, set_tokens: bool = False) -> None:
        """Add spans the chosen ones reference or are referenced by, biggest spans first, within ``max_tokens``."""
        if self.context_size() > max_tokens:
            return
        pairs = [(f, s) for f in self._files.values() if f.module is not None and f.span_ids for s in f.spans]
        pairs.sort(key=lambda p: p[1].tokens or 0, reverse=True)
        for f, span in pairs:
            # the fork walks a set (its order varies with PYTHONHASHSEED); sorted ids make it repeatable
            for related_id in sorted(f.module.find_related_span_ids(span.span_id)):
                if related_id in f.span_ids:
                    continue
                related = f.module.find_span_by_id(related_id)
                tokens = max(related.tokens, span.tokens or 0)
                if tokens + self.context_size() > max_tokens:
                    return
                f.add_span(related_id, tokens=tokens if set_tokens else None)

    def dict(self) -> list[dict]:
        """The fork's serialisation: ``[{"file_path", "spans": [{"span_id", "tokens"}]}]``."""
        rows = []
        for path, f in self._files.items():
            if f.spans:
                rows.append({"file_path": path, "spans": [{"span_id": s.span_id, "tokens": s.tokens} for s in f.spans]})
            else:
                rows.append({"file_path": path})
        return rows

    def create_prompt(self, show_span_ids: bool = False, show_line_numbers: bool = False,
                      exclude_comments: bool = False, show_outcommented_code: bool = False,
                      outcomment_code_comment: str = "...") -> str:
        out = ""
        for f in self._files.values():
            out += "\n\n" + f.to_prompt(show_span_ids, show_line_numbers, exclude_comments,
                                         show_outcommented_code, outcomment_code_comment)
        return out
