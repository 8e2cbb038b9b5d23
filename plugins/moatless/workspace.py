"""What the states need from code and files, under the fork's names (moatless Workspace,
FileContext, CodeIndex): the fork's code index and file context (``code_index.py``,
``context.py``) plus what PlanToCode and EditCode do with files (block spans, line edits).

Files are read and written through the sandbox; one shared file context holds what the agent
identified, fresh ones render search results and edit context, as in the fork.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from .codeblocks import BlockType, Group, parse_python
from .context import ContextFile
from .context import FileContext as _FileContext
from .edits import update_by_line_numbers


@dataclass
class EditSpan:
    """The lines an EditCode visit replaces (1-based, inclusive) and their size in tokens."""

    start_line: int
    end_line: int
    tokens: int


class IndexAdapter:
    """The fork's CodeIndex.search / semantic_search, returning the hits list."""

    def __init__(self, index: Any):
        self.index = index

    def search(self, **kwargs: Any) -> list[Any]:
        return self.index.search(**kwargs).hits

    def semantic_search(self, **kwargs: Any) -> list[Any]:
        return self.index.semantic_search(**kwargs).hits


class FileContext(_FileContext):
    """The fork's FileContext: the renderer of ``context.py`` plus span choice and edits."""

    def __init__(self, workspace: "Workspace", max_tokens: int = 4000):
        super().__init__(workspace.read_current, max_tokens)
        self.workspace = workspace

    def content(self, file_path: str) -> str:
        f = self.get_file(file_path)
        return f.content if f else ""

    # -- PlanToCode's choice of lines (edit/plan.py _request_for_change) ----------------------
    def edit_span(self, file_path: str, span_id: str) -> Optional[EditSpan]:
        """The lines for a span in the context, or for a parent of one (a whole class for a class)."""
        f = self.get_file(file_path)
        if f is None or f.module is None:
            return None
        block_span = f.module.find_span_by_id(span_id) if span_id in f.span_ids else None
        if block_span is None:
            candidate = f.module.find_span_by_id(span_id)
            if candidate and candidate.initiating_block.has_any_span(f.span_ids):
                block_span = candidate  # the model named a parent span shown in the prompt
        if block_span is None:
            return None
        if block_span.initiating_block.type == BlockType.CLASS:
            block = block_span.initiating_block
            return EditSpan(block_span.start_line, block.end_line, block.sum_tokens())
        return EditSpan(block_span.start_line, block_span.end_line, block_span.tokens)

    def hallucinated_span(self, file_path: str, span_id: str) -> bool:
        """The span exists in the file but not in the context (allow_hallucinated_spans adds it)."""
        f = self.get_file(file_path)
        return bool(f and f.module and f.module.find_span_by_id(span_id))

    # -- EditCode (repository.py update_content_by_line_numbers) ------------------------------
    def update_content_by_line_numbers(self, file_path: str, start_index: int, end_index: int,
                                       replacement: str) -> tuple[bool, str, Optional[str]]:
        """Apply an edit: (updated, diff, error). Written through the sandbox when it applies."""
        f = self.get_file(file_path)
        result = update_by_line_numbers(file_path, f.content, start_index, end_index, replacement)
        if not result.diff:
            return False, "", None
        new_span_ids: set[str] = set()
        if f.module is not None:
            error = _invalid(file_path, result.content)
            if error:
                return False, result.diff, error
            module = parse_python(result.content, file_path)
            new_span_ids = module.all_span_ids() - f.module.all_span_ids()
        self.workspace.write_file(file_path, result.content)
        self.refresh(file_path)
        for span_id in sorted(new_span_ids):
            f.add_span(span_id)
        return True, result.diff, None

    def to_metadata(self) -> list[dict[str, Any]]:
        """``[{"file_path", "span_ids", "content"}]``: what the agent identified (the ORM prompt uses it)."""
        return [{"file_path": f.file_path, "span_ids": [s.span_id for s in f.spans],
                 "content": f.to_prompt(show_line_numbers=True, show_outcommented_code=True,
                                        outcomment_code_comment="... rest of the code")}
                for f in self.files if f.spans]

    def save(self) -> None:
        """Edits are written through the sandbox as they apply."""
        return None


def _invalid(file_path: str, content: str) -> Optional[str]:
    """repository.py's checks of an updated file: it must parse, without error blocks."""
    try:
        module = parse_python(content, file_path)
    except ValueError:
        return "The updated code is invalid."
    if not module.children:
        return "The updated code is invalid."
    out = ""
    for block in module.find_errors():
        parent = block.parent_of_group(Group.STRUCTURE)
        if parent is not None and parent.type != BlockType.MODULE:
            out += f"{parent.type.name} has invalid code:\n\n```{parent.to_string()}\n```.\n"
        else:
            out += f"This code is invalid: \n```{block.to_string()}\n```.\n"
    return out or None


class Workspace:
    """The fork's Workspace: one shared file context, the code index, file I/O via the sandbox."""

    def __init__(self, index: Any, read_current: Callable[[str], Optional[str]],
                 write_file: Callable[[str, str], None], max_file_context_tokens: int = 16000):
        self.code_index = IndexAdapter(index)
        self.read_current = read_current
        self.write_file = write_file
        self.file_context = FileContext(self, max_file_context_tokens)

    def create_file_context(self, max_tokens: int = 4000) -> FileContext:
        return FileContext(self, max_tokens)
