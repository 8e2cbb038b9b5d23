"""Sample packing: several conversations per row, each attending only to itself.

Why: padding a batch to its longest conversation wastes most of the compute on SWE trajectories,
whose lengths vary by 10x. We place samples into rows of ``max_seq_len`` with first-fit
decreasing (much tighter than torchtune's in-order greedy ``PackedDataset``), restart positions
at 0 for every sample, and build torchtune's block-causal document mask so no token sees another
sample. Labels are shifted per sample here, so a sample's last token never predicts the next
sample's first token.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from .chat_data import IGNORE_INDEX, Sample


@dataclass
class Pack:
    """One packed row: concatenated samples, their lengths, and unused room at the end."""

    tokens: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # already shifted: labels[i] is the target of tokens[i]
    positions: list[int] = field(default_factory=list)
    seq_lens: list[int] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        n = len(sample.tokens)
        self.tokens += sample.tokens
        self.labels += sample.labels[1:] + [IGNORE_INDEX]
        self.positions += list(range(n))
        self.seq_lens.append(n)

    def __len__(self) -> int:
        return len(self.tokens)


def pack_samples(samples: Sequence[Sample], max_seq_len: int, seed: int = 0) -> list[Pack]:
    """First-fit decreasing bin packing into rows of at most ``max_seq_len`` tokens; rows shuffled."""
    order = sorted(range(len(samples)), key=lambda i: -len(samples[i].tokens))
    packs: list[Pack] = []
    free: list[int] = []
    for i in order:
        n = len(samples[i].tokens)
        if n > max_seq_len:
            raise ValueError(f"sample of {n} tokens exceeds max_seq_len {max_seq_len}; truncate first")
        for j, room in enumerate(free):
            if room >= n:
                packs[j].add(samples[i])
                free[j] -= n
                break
        else:
            pack = Pack()
            pack.add(samples[i])
            packs.append(pack)
            free.append(max_seq_len - n)
    random.Random(seed).shuffle(packs)
    return packs


def single_packs(samples: Sequence[Sample]) -> list[Pack]:
    """One sample per row (packing off): the same code path, padding happens in the collate."""
    out = []
    for s in samples:
        p = Pack()
        p.add(s)
        out.append(p)
    return out


def packing_efficiency(packs: Sequence[Pack], row_len: int) -> float:
    """Real tokens over all token slots when every row is padded to ``row_len``."""
    return sum(len(p) for p in packs) / max(1, row_len * len(packs))


def collate(packs: Sequence[Pack], pad_id: int, pad_to: int | None = None) -> dict[str, Any]:
    """Batch packs into tensors: tokens, labels, input_pos and a block-causal mask (B, L, L)."""
    import torch
    from torchtune.modules.attention_utils import packed_block_causal_mask

    length = pad_to or max(len(p) for p in packs)
    tokens, labels, pos, seq_lens = [], [], [], []
    for p in packs:
        pad = length - len(p)
        tokens.append(p.tokens + [pad_id] * pad)
        labels.append(p.labels + [IGNORE_INDEX] * pad)
        # Padding continues the last sample's positions and forms its own "document".
        last = p.positions[-1] + 1 if p.positions else 0
        pos.append(p.positions + list(range(last, last + pad)))
        seq_lens.append(torch.tensor(p.seq_lens + ([pad] if pad else []), dtype=torch.long))
    mask = packed_block_causal_mask(seq_lens)
    return {
        "tokens": torch.tensor(tokens, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
        "input_pos": torch.tensor(pos, dtype=torch.long),
        "mask": mask,
        "num_tokens": sum(len(p) for p in packs),
    }
