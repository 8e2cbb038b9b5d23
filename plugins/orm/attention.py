"""Attention for a right-padded batch of suffixes over one shared, cached prefix, without a mask.

transformers handles "queries after a cache" with a materialized (batch, 1, suffix, prefix+suffix)
mask, copies the prefix keys/values once per row and head group (``repeat_kv``), and its SDPA call
can no longer skip the causal upper triangle. Here the attention is split in two exact parts that
need no mask and merged with their log-sum-exp (the flash-attention merge rule):

* every suffix query against the prefix, which is the same for all rows: the rows and the query
  heads of one key/value head fold into one long query block over a single copy of the prefix;
* each row's suffix against itself, causal with equal query and key lengths (``is_causal``).

Right padding stays harmless: a real token only sees the tokens before it. The merged output equals
the masked computation to float rounding (tests compare both). On devices without the CPU
flash kernel (which returns the log-sum-exp), or with model features this does not model
(sliding windows, soft-capping, attention sinks), it hands over to transformers' SDPA with the mask.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

NAME = "swegym_shared_prefix"
_UNSUPPORTED = ("sliding_window", "softcap", "s_aux", "position_bias")


def _flash_with_lse(q: Any, k: Any, v: Any, causal: bool, scale: float | None) -> tuple[Any, Any]:
    import torch

    return torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, causal, scale=scale)


def _masked_fallback(module: Any, query: Any, key: Any, value: Any, **kwargs: Any) -> tuple[Any, None]:
    """transformers' SDPA path with the bottom-right aligned causal mask it would have built."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    q_len, kv_len = query.shape[2], key.shape[2]
    rows = torch.arange(q_len, device=query.device)[:, None] + (kv_len - q_len)
    mask = (torch.arange(kv_len, device=query.device)[None, :] <= rows).view(1, 1, q_len, kv_len)
    kwargs.pop("is_causal", None)
    return sdpa_attention_forward(module, query, key, value, mask, is_causal=False, **kwargs)


def shared_prefix_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                            scaling: float | None = None, dropout: float = 0.0, **kwargs: Any) -> tuple[Any, None]:
    """An attention function with transformers' interface (query: batch, heads, suffix, dim).

    ``key``/``value`` hold the prefix (identical in every row) followed by the suffixes.
    """
    import torch

    batch, heads, q_len, dim = query.shape
    kv_heads, kv_len = key.shape[1], key.shape[2]
    prefix = kv_len - q_len
    if (query.device.type != "cpu" or dropout or any(kwargs.get(name) is not None for name in _UNSUPPORTED)
            or key.shape[-1] != value.shape[-1] or heads % kv_heads):
        return _masked_fallback(module, query, key, value, scaling=scaling, dropout=dropout, **kwargs)
    group = heads // kv_heads
    # Suffix part: per row, causal over equal lengths; query heads share their key/value head.
    k_suffix, v_suffix = key[:, :, prefix:], value[:, :, prefix:]
    if group > 1:
        k_suffix = k_suffix.repeat_interleave(group, dim=1)
        v_suffix = v_suffix.repeat_interleave(group, dim=1)
    out, lse = _flash_with_lse(query, k_suffix, v_suffix, True, scaling)
    if prefix > 0:
        # Prefix part: (batch, kv_heads*group, q, d) → (1, kv_heads, batch*group*q, d) against one prefix copy.
        folded = (query.view(batch, kv_heads, group, q_len, dim).permute(1, 0, 2, 3, 4)
                  .reshape(1, kv_heads, batch * group * q_len, dim))
        p_out, p_lse = _flash_with_lse(folded, key[:1, :, :prefix], value[:1, :, :prefix], False, scaling)
        p_out = p_out.view(kv_heads, batch, group, q_len, dim).permute(1, 0, 2, 3, 4).reshape(batch, heads, q_len, dim)
        p_lse = p_lse.view(kv_heads, batch, group, q_len).permute(1, 0, 2, 3).reshape(batch, heads, q_len)
        total = torch.logaddexp(lse, p_lse)
        out = out * torch.exp(lse - total).unsqueeze(-1) + p_out * torch.exp(p_lse - total).unsqueeze(-1)
    return out.transpose(1, 2).contiguous(), None


def _register() -> bool:
    try:
        from transformers import AttentionInterface
    except ImportError:  # pragma: no cover - transformers < 4.48
        return False
    if NAME not in AttentionInterface._global_mapping:
        AttentionInterface.register(NAME, shared_prefix_attention)
    return True


@contextlib.contextmanager
def over_shared_prefix(model: Any, enabled: bool = True) -> Iterator[None]:
    """Within the block, ``model``'s attention is :func:`shared_prefix_attention` (no mask is built).

    Only for forward passes whose cache holds one prefix shared by every row. Models whose
    config does not name an SDPA/eager implementation keep theirs.
    """
    config = getattr(model, "config", None)
    current = getattr(config, "_attn_implementation", None)
    if not enabled or current not in ("sdpa", "eager") or not _register():
        yield
        return
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = current
