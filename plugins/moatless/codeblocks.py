"""Python source as the fork's tree of code blocks and spans (tree-sitter, ``queries/python.scm``).

MoatlessTools v0.0.2 (``moatless/codeblocks``) cuts a file into blocks (module, class, function,
assignment, statement, comment, ...) by matching the query file against the tree-sitter syntax
tree, and groups blocks into *spans*: the ids the model reads and writes (``imports``,
``Foo``, ``Foo.__init__``, ``Foo.bar``, ``impl:3``, ...). The span ids, the token counts and the
block boundaries decide what the model sees, so this module reproduces the fork's rules one for
one (same tree-sitter grammar version, same query file, same token counter); tests compare it
with the fork's own output. Only what search and rendering need is kept (no code merging).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

from .tokenizer import count_tokens

COMMENTED_OUT_KEYWORDS = ["rest of the code", "existing code", "other code"]


class Group(str, Enum):
    STRUCTURE = "Structures"
    IMPLEMENTATION = "Implementation"
    IMPORT = "Imports"
    BLOCK_DELIMITER = "BlockDelimiter"
    SPACE = "Space"
    COMMENT = "Comment"
    ERROR = "Error"


class BlockType(Enum):
    MODULE = ("Module", Group.STRUCTURE)
    CLASS = ("Class", Group.STRUCTURE)
    FUNCTION = ("Function", Group.STRUCTURE)
    CONSTRUCTOR = ("Constructor", Group.STRUCTURE)
    TEST_SUITE = ("TestSuite", Group.STRUCTURE)
    TEST_CASE = ("TestCase", Group.STRUCTURE)
    IMPORT = ("Import", Group.IMPORT)
    EXPORT = ("Export", Group.IMPLEMENTATION)
    COMPOUND = ("Compound", Group.IMPLEMENTATION)
    DEPENDENT_CLAUSE = ("DependentClause", Group.IMPLEMENTATION)
    ASSIGNMENT = ("Assignment", Group.IMPLEMENTATION)
    CALL = ("Call", Group.IMPLEMENTATION)
    STATEMENT = ("Statement", Group.IMPLEMENTATION)
    CODE = ("Code", Group.IMPLEMENTATION)
    BLOCK_DELIMITER = ("BlockDelimiter", Group.BLOCK_DELIMITER)
    SPACE = ("Space", Group.SPACE)
    COMMENT = ("Comment", Group.COMMENT)
    COMMENTED_OUT_CODE = ("Commented out code", Group.COMMENT)
    ERROR = ("Error", Group.ERROR)

    def __init__(self, label: str, group: Group):
        self.label = label
        self.group = group

    @classmethod
    def from_tag(cls, tag: str) -> Optional["BlockType"]:
        if not tag.startswith("definition."):
            return None
        return _TAGS.get(tag[len("definition."):])


_TAGS = {t.name.lower(): t for t in BlockType}


class SpanType(str, Enum):
    INITATION = "init"  # sic, as in the fork
    DOCUMENTATION = "docs"
    IMPLEMENTATION = "impl"


@dataclass(eq=False)
class BlockSpan:
    """A group of blocks shown together under one id."""

    span_id: str
    span_type: SpanType
    start_line: int
    end_line: int
    initiating_block: "CodeBlock"
    parent_block_path: list[str]
    index: int = 0
    is_partial: bool = False
    block_paths: list[list[str]] = field(default_factory=list)
    tokens: int = 0

    @property
    def block_type(self) -> BlockType:
        return self.initiating_block.type


@dataclass(eq=False)
class CodeBlock:
    content: str
    type: BlockType
    identifier: Optional[str] = None
    start_line: int = 0
    end_line: int = 0
    pre_code: str = ""
    pre_lines: int = 0
    indentation: str = ""
    tokens: int = 0
    children: list["CodeBlock"] = field(default_factory=list)
    parent: Optional["CodeBlock"] = None
    belongs_to_span: Optional[BlockSpan] = None
    references: list[list[str]] = field(default_factory=list)
    content_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.pre_code and not re.match(r"^[ \n\\]*$", self.pre_code):
            raise ValueError(f"Failed to parse code block with type {self.type} and content `{self.content}`. "
                             f"Expected pre_code to only contain spaces and line breaks. Got `{self.pre_code}`")
        if self.pre_code and not self.indentation and not self.pre_lines:
            lines = self.pre_code.split("\n")
            self.pre_lines = len(lines) - 1
            self.indentation = lines[-1] if self.pre_lines > 0 else self.pre_code
        self.content_lines = self.content.split("\n")

    # -- tree ---------------------------------------------------------------------------
    def full_path(self) -> list[str]:
        path = self.parent.full_path() if self.parent else []
        if self.identifier:
            path.append(self.identifier)
        return path

    def path_string(self) -> str:
        return ".".join(self.full_path())

    def sum_tokens(self) -> int:
        return self.tokens + sum(c.sum_tokens() for c in self.children)

    def walk(self) -> Iterator["CodeBlock"]:
        for child in self.children:
            yield child
            yield from child.walk()

    def find_by_path(self, path: list[str] | None) -> Optional["CodeBlock"]:
        if path is None:
            return None
        if not path:
            return self
        for child in self.children:
            if child.identifier == path[0]:
                return child if len(path) == 1 else child.find_by_path(path[1:])
        return None

    def parent_of_group(self, group: Group) -> Optional["CodeBlock"]:
        p = self.parent
        while p is not None:
            if p.type.group == group:
                return p
            p = p.parent
        return None

    def parent_of_type(self, block_type: BlockType) -> Optional["CodeBlock"]:
        p = self.parent
        while p is not None:
            if p.type == block_type:
                return p
            p = p.parent
        return None

    def all_span_ids(self, include_self: bool = True) -> set[str]:
        ids = {self.belongs_to_span.span_id} if include_self and self.belongs_to_span else set()
        for child in self.children:
            ids |= child.all_span_ids()
        return ids

    def has_any_span(self, span_ids: set[str]) -> bool:
        mine = self.all_span_ids(include_self=False)
        return any(s in mine for s in span_ids)

    def has_content(self, query: str, span_id: Optional[str] = None) -> bool:
        if self.content and query in self.content and (
                not span_id or (self.belongs_to_span and self.belongs_to_span.span_id == span_id)):
            return True
        if span_id and not self.has_any_span({span_id}):
            return False
        return any(c.has_content(query, span_id) for c in self.children)

    def find_errors(self) -> list["CodeBlock"]:
        out = [e for c in self.children for e in c.find_errors()]
        if self.type == BlockType.ERROR:
            out.append(self)
        return out

    # -- text ---------------------------------------------------------------------------
    def to_string(self) -> str:
        """The source of this block and its children, as the fork rebuilds it."""
        out = self._own_string() + "".join(c.to_string() for c in self.children)
        return out

    def _own_string(self) -> str:
        if not self.pre_lines:
            return self.pre_code + self.content
        out = "\n" * (self.pre_lines - 1)
        for i, line in enumerate(self.content_lines):
            if i == 0 and line:
                out += "\n" + self.indentation + line
            elif line:
                out += "\n" + line
            else:
                out += "\n"
        return out

    def commented_out(self, comment: str) -> "CodeBlock":
        """The ``# ...`` line the fork puts where code is left out (indented like this block)."""
        return CodeBlock(type=BlockType.COMMENTED_OUT_CODE, indentation=self.indentation, parent=self,
                         pre_lines=1, content=f"# {comment}")

    def prompt_string(self, *, show_span_id: bool = False, show_line_numbers: bool = False) -> str:
        """One block's own lines as the renderer prints them (``<span id=...>`` tag, 6-column numbers)."""
        out = ""
        if show_span_id:
            out += "\n\n" + f"\n<span id='{self.belongs_to_span.span_id}'>"
            if not self.pre_lines:
                out += "\n"

        def number(n: int) -> str:
            return str(n).ljust(6) if show_line_numbers else ""

        if self.parent.type == BlockType.MODULE and _same_block(self.parent.children[0], self):
            out += number(self.start_line)
        for i in range(self.pre_lines):
            out += "\n" + number(self.start_line - self.pre_lines + i + 1)
        out += self.indentation + self.content_lines[0]
        for i, line in enumerate(self.content_lines[1:]):
            out += "\n" + number(self.start_line + i + 1) + line
        return out


@dataclass(eq=False)
class Module(CodeBlock):
    """The root block of a file: spans by id and the reference graph for related spans."""

    file_path: Optional[str] = None
    spans_by_id: dict[str, BlockSpan] = field(default_factory=dict)
    graph_nodes: dict[str, CodeBlock] = field(default_factory=dict)
    graph_succ: dict[str, list[str]] = field(default_factory=dict)
    graph_pred: dict[str, list[str]] = field(default_factory=dict)

    def find_span_by_id(self, span_id: str) -> Optional[BlockSpan]:
        return self.spans_by_id.get(span_id)

    def find_blocks_by_span_id(self, span_id: str) -> list[CodeBlock]:
        return [b for b in self.walk() if b.belongs_to_span and b.belongs_to_span.span_id == span_id]

    def find_spans_by_line_numbers(self, start_line: int, end_line: int | None = None) -> list[BlockSpan]:
        return _spans_by_lines(self, start_line, end_line)

    def find_related_span_ids(self, span_id: str) -> set[str]:
        """Spans linked to ``span_id`` by references either way, plus class and module set-up spans."""
        related: set[str] = set()
        for block in self.find_blocks_by_span_id(span_id):
            key = block.path_string()
            for other in self.graph_succ.get(key, []) + self.graph_pred.get(key, []):
                node = self.graph_nodes.get(other)
                if node is not None:
                    related.add(node.belongs_to_span.span_id)
            if block.parent and block.parent.type == BlockType.CLASS:
                related.add(block.belongs_to_span.span_id)
                for sibling in block.parent.children:
                    if sibling.belongs_to_span.span_type == SpanType.INITATION:
                        related.add(sibling.belongs_to_span.span_id)
        for span in self.spans_by_id.values():
            if span.block_type == BlockType.MODULE and span.span_type == SpanType.INITATION:
                related.add(span.span_id)
        return related


def _same_block(a: Optional[CodeBlock], b: Optional[CodeBlock]) -> bool:
    """The fork's ``CodeBlock.__eq__``: two blocks are equal when their paths are."""
    if a is None or b is None:
        return False
    return a is b or a.full_path() == b.full_path()


def _spans_by_lines(block: CodeBlock, start_line: int, end_line: int | None) -> list[BlockSpan]:
    spans: list[BlockSpan] = []
    for child in block.children:
        if end_line is None:
            end_line = start_line
        if child.end_line < start_line:
            continue
        if child.start_line > end_line:
            return spans
        if child.belongs_to_span and child.belongs_to_span not in spans:
            if (not child.children or child.start_line >= start_line and child.end_line <= end_line
                    or child.start_line == start_line or child.end_line == end_line):
                spans.append(child.belongs_to_span)
        for span in _spans_by_lines(child, start_line, end_line):
            if span not in spans:
                spans.append(span)
    return spans


# -- the parser ---------------------------------------------------------------------------

@dataclass
class _Match:
    block_type: Optional[BlockType] = None
    identifier_node: object = None
    first_child: object = None
    last_child: object = None
    check_child: object = None
    parameters: list = field(default_factory=list)
    references: list = field(default_factory=list)


@lru_cache(maxsize=1)
def _language_and_queries():
    try:
        import tree_sitter_python
        from tree_sitter import Language
    except ImportError:
        from swegym import SwegymError

        raise SwegymError("the moatless code index needs tree-sitter: pip install 'swegym[moatless]'") from None
    language = Language(tree_sitter_python.language())
    text = (Path(__file__).parent / "queries" / "python.scm").read_text()
    queries = []
    for part in text.strip().split("\n\n"):
        m = re.search(r"\(\s*(\w+)", part)
        queries.append((m.group(1) if m else None, language.query(part)))
    return language, queries


class PythonParser:
    """Source → :class:`Module`. One parser per file (it keeps per-file counters)."""

    def __init__(self, max_tokens_in_span: int = 500):
        from tree_sitter import Parser

        self.language, self.queries = _language_and_queries()
        self.parser = Parser(self.language)
        self.max_tokens_in_span = max_tokens_in_span

    def parse(self, content: str, file_path: Optional[str] = None) -> Module:
        data = content.encode("utf8")
        self.spans_by_id: dict[str, BlockSpan] = {}
        self.span_counter: dict[str, int] = {}
        self.comments_with_no_span: list[CodeBlock] = []
        self.module: Optional[Module] = None
        tree = self.parser.parse(data)
        module, _, _ = self._parse(data, tree.walk().node, file_path=file_path)
        module.spans_by_id = self.spans_by_id
        return module

    # -- matching -------------------------------------------------------------------------
    def _find(self, node) -> _Match:
        return self._find_match(node) or _Match(block_type=BlockType.CODE)

    def _find_match(self, node) -> Optional[_Match]:
        for node_type, query in self.queries:
            if node_type and node.type != node_type and node_type != "_":
                continue
            match = self._match_query(node, query)
            if match:
                return match
        return None

    def _match_query(self, node, query) -> Optional[_Match]:
        captures = query.captures(node)
        if not captures:
            return None
        match = _Match()
        root = None
        for found, tag in captures:
            if tag == "root" and not root and node == found:
                root = found
            if not root:
                continue
            if tag == "check_child":
                child_match = self._find_match(found)
                if child_match:
                    child_match.check_child = found
                return child_match
            if tag == "identifier" and not match.identifier_node:
                match.identifier_node = found
            if tag == "child.first" and not match.first_child:
                match.first_child = found
            if tag == "child.last" and not match.last_child:
                match.last_child = found
            if tag == "parameter.identifier":
                match.parameters.append((found, None))
            if tag == "parameter.type" and match.parameters:
                match.parameters[-1] = (match.parameters[-1][0], found)
            if tag.startswith("reference"):
                match.references.append((found, tag))
            if not match.block_type:
                match.block_type = BlockType.from_tag(tag)
        return match if match.block_type else None

    @staticmethod
    def _text(node, data: bytes) -> str:
        return data[node.start_byte:node.end_byte].decode("utf8")

    def _reference_paths(self, data: bytes, match: _Match) -> list[list[str]]:
        """The targets of the block's references (edges of the fork's graph)."""
        paths: list[list[str]] = []
        if match.block_type == BlockType.IMPORT and match.references:
            modules = [r for r in match.references if r[1] == "reference.module"]
            if modules:
                if len(match.references) > 1:
                    for ref in match.references:
                        if ref is modules[0] or ref == modules[0]:
                            continue
                        paths.append([] if ref[1] == "reference.alias" else [self._text(ref[0], data)])
                else:
                    paths.append([])
        elif match.block_type != BlockType.IMPORT:
            for ref in match.references:
                paths.append(self._text(ref[0], data).split("."))
        for ident, type_node in match.parameters:
            if type_node is not None:
                paths.append(self._text(type_node, data).replace('"', "").split("."))
        return paths

    # -- building -------------------------------------------------------------------------
    @staticmethod
    def _previous_end(node, origin) -> int:
        while True:
            if node == origin:
                return node.start_byte
            if node.prev_sibling:
                return node.prev_sibling.end_byte
            if not node.parent:
                return node.start_byte
            node = node.parent

    @staticmethod
    def _parent_next(node, origin):
        while node != origin:
            if node.next_sibling:
                return node.next_sibling
            node = node.parent
        return None

    def _parse(self, data: bytes, node, start_byte: int = 0, level: int = 0, file_path=None,
               parent: Optional[CodeBlock] = None, current_span: Optional[BlockSpan] = None):
        if node.type == "ERROR" or any(c.type == "ERROR" for c in node.children):
            match = _Match(block_type=BlockType.ERROR)
        else:
            match = self._find(node)
        pre_code = data[start_byte:node.start_byte].decode("utf8")
        end_line = node.end_point[0]
        end_byte = self._previous_end(match.first_child, node) if match.first_child else node.end_byte
        code = data[node.start_byte:end_byte].decode("utf8")
        identifier = self._text(match.identifier_node, data) if match.identifier_node else None

        if parent is not None:
            block = CodeBlock(type=match.block_type, identifier=identifier, parent=parent,
                              start_line=node.start_point[0] + 1, end_line=end_line + 1, pre_code=pre_code,
                              content=code, tokens=count_tokens(code),
                              references=self._reference_paths(data, match))
            self._pre_process(block, match)
            if block.identifier:
                name = block.identifier
            elif block.content:
                name = re.sub(r"\W+", "_", block.content.split("\n")[0].strip()[0:25])
            else:
                name = block.type.label.lower()
            existing = [b.identifier for b in parent.children if b.type == block.type]
            block.identifier = f"{block.identifier}_{len(existing)}" if name in existing else name

            if (block.type == BlockType.COMMENT and current_span and current_span.span_type != SpanType.DOCUMENTATION
                    and len(current_span.block_paths) > 1):
                self.comments_with_no_span.append(block)
            else:
                new_span = self._new_span(current_span, block)
                if new_span:
                    current_span = new_span
                    self.spans_by_id[current_span.span_id] = current_span
                else:
                    current_span.end_line = block.end_line
                for comment in self.comments_with_no_span:
                    comment.belongs_to_span = current_span
                    current_span.block_paths.append(comment.full_path())
                    current_span.tokens += comment.tokens
                current_span.block_paths.append(block.full_path())
                current_span.tokens += block.tokens
                block.belongs_to_span = current_span
                self.comments_with_no_span = []
            self._add_to_graph(block)
        else:
            current_span = None
            block = Module(type=BlockType.MODULE, content="", file_path=file_path,
                           start_line=node.start_point[0] + 1, end_line=end_line + 1)
            self.module = block

        next_node = match.first_child
        while next_node:
            if next_node.children and next_node.type == "block":
                next_node = next_node.children[0]
            child, child_last, child_span = self._parse(data, next_node, start_byte=end_byte, level=level + 1,
                                                        parent=block, current_span=current_span)
            if not current_span or child_span.span_id != current_span.span_id:
                current_span = child_span
            block.children.append(child)
            child.parent = block
            if child_last:
                next_node = child_last
            end_byte = next_node.end_byte
            if next_node == match.last_child:
                break
            elif next_node.next_sibling:
                next_node = next_node.next_sibling
            else:
                after = self._parent_next(next_node, match.check_child or node)
                next_node = None if after == next_node else after

        for comment in self.comments_with_no_span:
            comment.belongs_to_span = current_span
            current_span.block_paths.append(comment.full_path())
            current_span.tokens += comment.tokens
        self.comments_with_no_span = []
        self._post_process(block)

        if level == 0 and not node.parent and node.end_byte > end_byte:
            block.children.append(CodeBlock(type=BlockType.SPACE, pre_code=data[end_byte:node.end_byte].decode("utf8"),
                                            parent=block, start_line=end_line + 1, end_line=node.end_point[0] + 1,
                                            content=""))
        return block, next_node, current_span

    def _add_to_graph(self, block: CodeBlock) -> None:
        module = self.module
        key = block.path_string()
        module.graph_nodes[key] = block
        for path in block.references:
            target = ".".join(path)
            succ = module.graph_succ.setdefault(key, [])
            if target not in succ:
                succ.append(target)
                module.graph_pred.setdefault(target, []).append(key)

    @staticmethod
    def _pre_process(block: CodeBlock, match: _Match) -> None:
        if block.type == BlockType.FUNCTION and block.identifier == "__init__":
            block.type = BlockType.CONSTRUCTOR
        if (block.type == BlockType.ASSIGNMENT and block.content_lines[0].strip().endswith("=")
                and match.check_child and match.first_child
                and match.check_child.start_point[0] < match.first_child.start_point[0]):
            block.content_lines[0] = block.content_lines[0] + " \\"

    @staticmethod
    def _post_process(block: CodeBlock) -> None:
        if block.type == BlockType.COMMENT and (block.content.startswith("# ...") or any(
                k in block.content.lower() for k in COMMENTED_OUT_KEYWORDS)):
            block.type = BlockType.COMMENTED_OUT_CODE
        if (block.type in (BlockType.CLASS, BlockType.FUNCTION) and len(block.children) == 1
                and block.children[0].type == BlockType.COMMENTED_OUT_CODE):
            block.type = BlockType.COMMENTED_OUT_CODE

    # -- spans ----------------------------------------------------------------------------
    def _new_span(self, current: Optional[BlockSpan], block: CodeBlock) -> Optional[BlockSpan]:
        if block.type == BlockType.COMMENT and (
                not current or current.block_type in (BlockType.MODULE,)
                and (current.span_type != SpanType.IMPLEMENTATION or current.index == 0)):
            span_type, span_id = SpanType.DOCUMENTATION, self._span_id(block, "docstring")
        elif block.type in (BlockType.CLASS, BlockType.CONSTRUCTOR) or (
                current and current.block_type in (BlockType.CLASS, BlockType.CONSTRUCTOR)
                and not _same_block(current.initiating_block.parent, block.parent)
                and current.span_type != SpanType.IMPLEMENTATION and block.type != BlockType.FUNCTION):
            span_type, span_id = SpanType.INITATION, self._span_id(block)
        elif block.type == BlockType.IMPORT and (not current or current.block_type == BlockType.MODULE):
            span_type, span_id = SpanType.INITATION, self._span_id(block, "imports")
        else:
            span_type, span_id = SpanType.IMPLEMENTATION, self._span_id(block)

        def make(initiating: CodeBlock, parent_path: list[str], **kw) -> BlockSpan:
            return BlockSpan(span_id=span_id, span_type=span_type, start_line=block.start_line,
                             end_line=block.start_line, initiating_block=initiating,
                             parent_block_path=parent_path, **kw)

        if not current:
            if block.type.group == Group.STRUCTURE:
                return make(block, block.full_path())
            return make(block.parent, block.parent.full_path())
        if (block.type.group == Group.STRUCTURE and block.parent.type in (BlockType.MODULE, BlockType.CLASS)
                and current.parent_block_path == block.parent.full_path()):
            if len(current.parent_block_path) < len(block.full_path()):
                current.is_partial = True
            return make(block, block.full_path())
        if len(current.parent_block_path) > len(block.parent.full_path()):
            path = block.full_path() if block.type.group == Group.STRUCTURE else block.parent.full_path()
            return make(block, path)
        if current.tokens + block.sum_tokens() > self.max_tokens_in_span and block.parent.type == BlockType.MODULE:
            current.is_partial = True
            return make(current.initiating_block, current.parent_block_path, is_partial=True,
                        index=current.index + 1)
        return None

    def _span_id(self, block: CodeBlock, label: Optional[str] = None) -> str:
        structure = block if block.type.group == Group.STRUCTURE else block.parent_of_group(Group.STRUCTURE)
        span_id = structure.path_string()
        if label and span_id:
            span_id += f":{label}"
        elif label:
            span_id = label
        elif not span_id:
            span_id = "impl"
        if span_id in self.span_counter:
            self.span_counter[span_id] += 1
            span_id += f":{self.span_counter[span_id]}"
        else:
            self.span_counter[span_id] = 1
        return span_id


def text_mode(content: str) -> str:
    """Newlines as Python's text-mode ``open`` gives them: the fork reads every file that way."""
    return content.replace("\r\n", "\n").replace("\r", "\n") if "\r" in content else content


def parse_python(content: str, file_path: Optional[str] = None) -> Module:
    """Parse one file into the fork's block tree (raises ValueError where the fork's parser does)."""
    return PythonParser().parse(content, file_path)


@lru_cache(maxsize=128)
def parse_cached(content: str, file_path: Optional[str] = None) -> Optional[Module]:
    """``parse_python`` shared by the index and every file context (None where the fork's parser fails).

    Parsing dominates search time (a 1,000-line file takes ~0.3 s); modules are not modified after
    parsing, so one parse per (text, path) serves every reader. A module takes ~1.2 kB per source
    line, so the 128 most recent files stay well under 100 MB in a typical repository.
    """
    try:
        return parse_python(content, file_path)
    except ValueError:
        return None
