"""Scoring with a local transformers model: batched, right-padded forward passes on CPU or GPU.

Rows are right-padded (no padding mask needed under causal attention), so a padded row scores
exactly as it would alone. Rows of a batch usually share a long prompt prefix (the verifier's system prompt and log header, and for k
rollouts of one task the agent's system prompt and the issue): that prefix runs once per batch and
its key/value cache serves every row.
"""
from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path
from typing import Any, Sequence

from swegym import SwegymError

from .labels import Prepared

#: Shorter shared prefixes are not worth a cache copy per batch.
MIN_SHARED_PREFIX = 16
#: A batch is split where a row is this much shorter than the longest row of its run (padding waste).
PADDING_SLACK = 0.25


def load_model(path: str | Path, device: str = "cpu", gguf_file: str | None = None) -> tuple[Any, Any]:
    """(tokenizer, model) from an HF directory; a clear error when it is not one."""
    path = Path(path)
    if not path.is_dir() or not ((path / "config.json").is_file() or gguf_file):
        raise SwegymError(f"verifier model {path} is not a Hugging Face model directory (no config.json); "
                          "pass the output directory of `swegym train` or a downloaded checkpoint")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:  # pragma: no cover - depends on the environment
        raise SwegymError("the orm verifier needs torch and transformers: pip install 'swegym[local-model]'") from None
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(str(path), **extra)
    if tokenizer.chat_template is None:
        raise SwegymError(f"the tokenizer in {path} has no chat template; the verifier prompt is a chat conversation")
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, **extra)
    except TypeError:  # transformers < 4.56 spells it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(str(path), torch_dtype=torch.float32, **extra)
    model.to(device)
    model.eval()
    return tokenizer, model


def pad_id(tokenizer: Any) -> int:
    for value in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0):
        if value is not None:
            return int(value)
    return 0  # pragma: no cover


def common_prefix_length(items: Sequence[Prepared]) -> int:
    """Tokens every row starts with (the verifier's system prompt and the log header)."""
    first = items[0].input_ids
    n = min(len(it.input_ids) for it in items)
    p = 0
    while p < n and all(it.input_ids[p] == first[p] for it in items):
        p += 1
    return p


def _cache_kwarg(model: Any) -> str:
    """transformers >= 5.2x calls the key/value cache argument ``cache``; older ones ``past_key_values``."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def encode_prefix(model: Any, prefix: Sequence[int], device: str = "cpu") -> Any:
    """Run the shared prefix once and keep its key/value cache for every batch that starts with it."""
    import torch

    ids = torch.tensor([list(prefix)], dtype=torch.long, device=device)
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True, logits_to_keep=1)
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def score_batch(model: Any, items: Sequence[Prepared], pad: int, device: str = "cpu",
                prefix: tuple[int, Any] | None = None) -> list[float]:
    """P(YES) for each prepared row, in one right-padded forward pass.

    Right padding needs no padding mask: under causal attention a real token never sees the pads
    that follow it, so attention keeps its fast causal path and every row's logits (read at its
    own last real token) equal those of an unpadded pass. With ``prefix=(length, cache)`` the first
    ``length`` tokens, shared by every row, come from the cache and only the rest is computed.
    """
    import torch

    skip = prefix[0] if prefix else 0
    lengths = [len(it.input_ids) - skip for it in items]
    width = max(lengths)
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    for row, it in enumerate(items):
        ids[row, :lengths[row]] = torch.tensor(it.input_ids[skip:], dtype=torch.long)
    positions = torch.arange(skip, skip + width, dtype=torch.long).unsqueeze(0).expand(len(items), -1)
    last = [n - 1 for n in lengths]
    keep = sorted(set(last))
    column = {p: j for j, p in enumerate(keep)}
    kwargs: dict[str, Any] = {"input_ids": ids.to(device), "position_ids": positions.to(device)}
    if prefix:
        cache = prefix[1]  # used by this batch only: forward appends the suffix to it
        cache.batch_repeat_interleave(len(items))
        kwargs.update({_cache_kwarg(model): cache, "use_cache": True})
    else:
        kwargs["use_cache"] = False
    with torch.inference_mode():
        try:  # logits only where some row ends: skips the vocabulary projection everywhere else
            logits = model(**kwargs, logits_to_keep=torch.tensor(keep, device=device)).logits
            picked = torch.stack([logits[row, column[p]] for row, p in enumerate(last)])
        except TypeError:
            logits = model(**kwargs).logits
            picked = torch.stack([logits[row, p] for row, p in enumerate(last)])
        picked = picked.float().cpu()
    out = []
    for row, it in enumerate(items):
        diff = float(picked[row, it.yes_id] - picked[row, it.no_id])
        out.append(1.0 / (1.0 + math.exp(-diff)) if diff > -700 else 0.0)  # softmax over the two labels
    return out


def similar_lengths(rows: Sequence[int], lengths: Sequence[int], slack: float = PADDING_SLACK) -> list[list[int]]:
    """Split a batch into runs of similar length, so right padding wastes at most ``slack`` of a run."""
    pairs = sorted(zip(lengths, rows), reverse=True)
    groups: list[list[int]] = []
    top = 0
    for length, row in pairs:
        if not groups or length < (1.0 - slack) * top:
            groups.append([])
            top = length
        groups[-1].append(row)
    return groups


def score_prepared(model: Any, items: Sequence[Prepared], pad: int, batch_size: int, device: str = "cpu",
                   progress: Any = None, share_prefix: bool = True) -> list[float]:
    """Score every row in batches; results come back in input order.

    When batching, the prompt prefix the rows of a batch share is computed once and reused.
    """
    if batch_size < 1:
        raise SwegymError(f"batch_size must be >= 1, got {batch_size}")
    if not items:
        return []
    if any(it.truncated for it in items):
        warnings.warn(f"{sum(it.truncated for it in items)} verifier prompt(s) were longer than max_length "
                      "and were cut from the left", stacklevel=2)
    # Lexicographic order puts rollouts that share a prompt prefix (same task: same system prompt
    # and issue) next to each other, so each batch computes its shared prefix once.
    order = sorted(range(len(items)), key=lambda i: items[i].input_ids)
    scores: list[float] = [0.0] * len(items)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        batch = [items[i] for i in chunk]
        cache = None
        length = 0
        if share_prefix and len(batch) > 1:
            # Leave at least one token per row to compute; short prefixes are not worth a cache.
            length = min(common_prefix_length(batch), min(len(it.input_ids) for it in batch) - 1)
            if length >= MIN_SHARED_PREFIX:
                cache = encode_prefix(model, batch[0].input_ids[:length], device)
            else:
                length = 0
        groups = similar_lengths(chunk, [len(items[i].input_ids) - length for i in chunk])
        for n, group in enumerate(groups):
            prefix = None
            if cache is not None:  # each forward appends to its cache: the last group may take the original
                prefix = (length, cache if n == len(groups) - 1 else copy.deepcopy(cache))
            for i, s in zip(group, score_batch(model, [items[i] for i in group], pad, device, prefix)):
                scores[i] = s
        if progress is not None:
            progress.update(len(chunk))
    return scores
