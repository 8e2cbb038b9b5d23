"""swegym's port of the fork's EpicSplitter (750 / 100 / 1,500 / 2,000 tokens) vs the fork's chunks."""
import json
from pathlib import Path

import pytest

pytest.importorskip("tree_sitter_python")

from swegym_moatless.chunking import split_file  # noqa: E402
from swegym_moatless.codeblocks import parse_python  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data" / "moatless" / "index"
GOLDENS = json.loads((DATA / "goldens.json").read_text())


def _fork_chunks(path):
    # span_ids: the fork stores list(set(...)), whose order depends on PYTHONHASHSEED, so compare as sets
    return sorted((c["metadata"]["start_line"], c["metadata"]["end_line"], c["metadata"]["tokens"],
                   sorted(c["metadata"]["span_ids"]), c["metadata"]["category"], c["text"], c["embed_text"].count("\n"))
                  for c in GOLDENS["chunks"] if c["metadata"]["file_path"] == path)


@pytest.mark.parametrize("path", GOLDENS["files"])
def test_chunks_match_the_fork(path):
    chunks = split_file(parse_python((DATA / "repo" / path).read_text(), path), path)
    ours = sorted((c.start_line, c.end_line, c.tokens, sorted(c.span_ids), c.category, c.text, c.embed_text().count("\n"))
                  for c in chunks)
    assert ours == _fork_chunks(path)


def test_embedding_text_is_the_forks_metadata_rendering():
    fork = next(c for c in GOLDENS["chunks"] if c["metadata"]["file_path"] == "calc/stats.py")
    path = "calc/stats.py"
    chunk = next(c for c in split_file(parse_python((DATA / "repo" / path).read_text(), path), path)
                 if c.start_line == fork["metadata"]["start_line"])
    chunk.span_ids = fork["metadata"]["span_ids"]  # the fork's (hash-seed dependent) order
    assert chunk.embed_text() == fork["embed_text"]


def test_settings_are_the_forks():
    from swegym_moatless.chunking import SplitSettings

    s, fork = SplitSettings(), GOLDENS["settings"]
    assert (s.chunk_size, s.min_chunk_size, s.hard_token_limit, s.max_chunks) == (
        fork["chunk_size"], fork["min_chunk_size"], fork["hard_token_limit"], fork["max_chunks"])
    assert s.max_chunk_size == 1500  # EpicSplitter's own default; IndexSettings does not set it
