"""swegym's port of the fork's code blocks, spans and token counts vs the fork's own output.

Goldens: tests/data/moatless/index/goldens.json, made by make_goldens.py next to it, which runs
SWE-Gym/Moatless-Agent-Fork's parser on the files under repo/.
"""
import json
from pathlib import Path

import pytest

pytest.importorskip("tree_sitter_python")

from swegym_moatless.codeblocks import parse_python  # noqa: E402
from swegym_moatless.tokenizer import count_tokens  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data" / "moatless" / "index"
GOLDENS = json.loads((DATA / "goldens.json").read_text())


@pytest.mark.parametrize("path", sorted(GOLDENS["parse"]))
def test_blocks_spans_and_related_spans_match_the_fork(path):
    source = (DATA / "repo" / path).read_text()
    module = parse_python(source, path)
    expected = GOLDENS["parse"][path]
    blocks = [[b.type.label, b.identifier, b.path_string(), b.start_line, b.end_line, b.tokens,
               b.belongs_to_span.span_id if b.belongs_to_span else None] for b in module.walk()]
    assert blocks == expected["blocks"]
    spans = [[s.span_id, s.span_type.value, s.start_line, s.end_line, s.tokens, s.index, s.is_partial,
              [".".join(p) for p in s.block_paths]] for s in module.spans_by_id.values()]
    assert spans == expected["spans"]
    assert {s: sorted(module.find_related_span_ids(s)) for s in module.spans_by_id} == expected["related"]
    assert module.to_string() == source  # the block tree loses no text


def test_token_counts_are_cl100k():
    # Counts from tiktoken 0.7.0 (the fork's pin) with the published cl100k_base file.
    assert count_tokens("hello world") == 2
    assert count_tokens("def median(values):\n    return sorted(values)[len(values) // 2]") == 16  # tiktoken 0.7
    assert count_tokens("<|endoftext|>") == 1  # special tokens allowed, as in the fork


def test_a_file_the_fork_cannot_parse_raises():
    with pytest.raises(ValueError):
        parse_python("x = 1\n\t\ny = 2\n")  # a tab in the whitespace between blocks
