"""Token-length filter: count a conversation's tokens with the target model's own tokenizer.

``transformers`` is imported only here and only when a filter is requested.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import SwegymError

Counter = Callable[[list[dict[str, Any]]], int]


def load_tokenizer(path: str | Path) -> Any:
    """A local Hugging Face tokenizer directory (no network)."""
    path = Path(path)
    if not path.is_dir():
        raise SwegymError(f"tokenizer {path} is not a folder; pass a local Hugging Face tokenizer directory (with tokenizer.json)")
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise SwegymError("the token-length filter needs transformers: pip install 'swegym[local-model]'") from exc
    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure is a bad tokenizer folder
        raise SwegymError(f"could not load a tokenizer from {path}: {exc}") from exc


def token_counter(tokenizer: Any) -> Counter:
    """Count with the chat template when the tokenizer has one (what training sees), else plain text."""
    if isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer(tokenizer)
    has_template = bool(getattr(tokenizer, "chat_template", None))

    def count(messages: list[dict[str, Any]]) -> int:
        plain = [{"role": m["role"], "content": m.get("content") or ""} for m in messages]
        if has_template:
            text = tokenizer.apply_chat_template(plain, tokenize=False)
        else:
            text = "\n".join(f"{m['role']}: {m['content']}" for m in plain)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def make_counter(max_tokens: int | None, tokenizer: Any) -> Counter | None:
    """None when no filter is asked; a clear error when a filter is asked without a tokenizer."""
    if max_tokens is None:
        return None
    if max_tokens <= 0:
        raise SwegymError(f"--max-tokens must be positive, got {max_tokens}")
    if tokenizer is None:
        raise SwegymError("--max-tokens needs --tokenizer DIR (the target model's local tokenizer folder) to count tokens")
    return token_counter(tokenizer)
