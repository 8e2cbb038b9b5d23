"""The mask-free shared-prefix attention equals masked attention, and batched scoring uses it."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from swegym_orm.attention import NAME, over_shared_prefix, shared_prefix_attention  # noqa: E402


class _Module:
    num_key_value_groups = 1
    is_causal = True


def _masked(query, key, value, group):
    """Reference: bottom-right causal mask over prefix + suffix, key/value heads repeated."""
    q_len, kv_len = query.shape[2], key.shape[2]
    mask = torch.arange(kv_len)[None, :] <= torch.arange(q_len)[:, None] + (kv_len - q_len)
    key, value = key.repeat_interleave(group, dim=1), value.repeat_interleave(group, dim=1)
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask).transpose(1, 2)


@pytest.mark.parametrize("batch,heads,kv_heads,suffix,prefix", [
    (3, 4, 2, 7, 11),   # grouped-query attention, prefix longer than the suffixes
    (2, 4, 4, 9, 3),    # one key/value head per query head
    (1, 2, 1, 5, 0),    # no prefix at all: plain causal attention
    (4, 6, 2, 1, 20),   # one token per row
])
def test_equals_masked_attention(batch, heads, kv_heads, suffix, prefix):
    gen = torch.Generator().manual_seed(batch * 100 + prefix)
    dim = 16
    query = torch.randn(batch, heads, suffix, dim, generator=gen)
    shared = torch.randn(1, kv_heads, prefix, dim, generator=gen).expand(batch, -1, -1, -1)
    key = torch.cat([shared, torch.randn(batch, kv_heads, suffix, dim, generator=gen)], dim=2)
    shared_v = torch.randn(1, kv_heads, prefix, dim, generator=gen).expand(batch, -1, -1, -1)
    value = torch.cat([shared_v, torch.randn(batch, kv_heads, suffix, dim, generator=gen)], dim=2)
    out, weights = shared_prefix_attention(_Module(), query, key, value, None, scaling=dim ** -0.5)
    assert weights is None and out.shape == (batch, suffix, heads, dim)
    assert torch.allclose(out, _masked(query, key, value, heads // kv_heads), atol=1e-5)


def test_unsupported_features_fall_back_to_the_masked_path():
    query, key = torch.randn(2, 2, 3, 8), torch.randn(2, 2, 5, 8)
    key[1, :, :2] = key[0, :, :2]
    module = _Module()
    out, _ = shared_prefix_attention(module, query, key, key, None, sliding_window=4096)
    assert torch.allclose(out, _masked(query, key, key, 1), atol=1e-5)


def test_context_switches_the_attention_and_restores_it():
    class Config:
        _attn_implementation = "sdpa"

    class Model:
        config = Config()

    model = Model()
    with over_shared_prefix(model):
        assert model.config._attn_implementation == NAME
    assert model.config._attn_implementation == "sdpa"
    with over_shared_prefix(model, enabled=False):
        assert model.config._attn_implementation == "sdpa"
    model.config._attn_implementation = "flash_attention_2"  # not ours to replace
    with over_shared_prefix(model):
        assert model.config._attn_implementation == "flash_attention_2"
