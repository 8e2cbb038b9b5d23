"""Benchmark: torchtune trainer vs a plain transformers training loop, CPU, small model, same data.

Measures real (non-pad) tokens per second and peak RSS of each (each in its own subprocess, so
memory is not shared), plus the packing efficiency of the trainer's rows. The baseline is the
natural HF loop: AutoModelForCausalLM + AdamW over padded batches of whole conversations, with
the same tokens and labels (our chat template mask), the same lr and about the same number of
real tokens per optimizer step.

    .venv/bin/python benchmarks/train.py            # ~2-4 minutes on 2 cores
    .venv/bin/python benchmarks/train.py --quick    # fewer conversations

Last line: {"tokens_per_s", "baseline_tokens_per_s", "ratio", "packing_efficiency", "peak_rss_mb", ...}
Targets (issue 8): ratio >= 1.0, packing_efficiency >= 0.95.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_ours(model: Path, data: Path, out: Path, seq: int) -> dict:
    import swegym

    swegym.create("trainer", "torchtune-full").train(model, data, out, {
        "epochs": 1, "lr": 1e-4, "max_seq_len": seq, "batch_size": 1, "progress": False, "loss_chunks": 8})
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "loss" in r]
    # Skip the first step (allocator warm-up), as the baseline does.
    t_first = steps[0]["tokens"] / steps[0]["tokens_per_s"]
    t_last = steps[-1]["tokens"] / steps[-1]["tokens_per_s"]
    return {"tokens_per_s": (steps[-1]["tokens"] - steps[0]["tokens"]) / (t_last - t_first),
            "packing_efficiency": rows[0]["packing_efficiency"], "steps": len(steps), "packs": rows[0]["packs"],
            "peak_rss_mb": _peak_rss_mb(), "tokens": steps[-1]["tokens"]}


def run_baseline(model: Path, data: Path, seq: int, batch: int) -> dict:
    import random

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swegym_torchtune.chat_data import ChatTokenizer, read_conversations

    tok = AutoTokenizer.from_pretrained(model)
    samples = ChatTokenizer(tok, seq).encode_all(read_conversations(data), progress=False)
    random.Random(0).shuffle(samples)
    torch.manual_seed(0)
    net = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.0, foreach=False)
    pad = tok.pad_token_id
    tokens, t0 = 0, None
    for i in range(0, len(samples), batch):
        group = samples[i:i + batch]
        width = max(len(s.tokens) for s in group)
        ids = torch.tensor([s.tokens + [pad] * (width - len(s.tokens)) for s in group])
        att = torch.tensor([[1] * len(s.tokens) + [0] * (width - len(s.tokens)) for s in group])
        lab = torch.tensor([s.labels + [-100] * (width - len(s.tokens)) for s in group])
        loss = net(input_ids=ids, attention_mask=att, labels=lab).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if t0 is None:  # skip the first step (warm-up), as for ours
            t0 = time.perf_counter()
            continue
        tokens += int(att.sum())
    return {"tokens_per_s": tokens / (time.perf_counter() - t0), "peak_rss_mb": _peak_rss_mb(), "tokens": tokens,
            "batch": batch}


def _child(args: list[str]) -> dict:
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"benchmark child {args[:2]} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer conversations (a smoke run)")
    ap.add_argument("--seq", type=int, default=1024, help="max_seq_len / pack length")
    ap.add_argument("--part", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.part == "ours":
        print(json.dumps(run_ours(Path(a.model), Path(a.data), Path(a.out), a.seq)))
        return
    if a.part == "baseline":
        print(json.dumps(run_baseline(Path(a.model), Path(a.data), a.seq, a.batch)))
        return

    from tiny_model import make_sft_conversations, make_tiny_chat_model, write_jsonl

    work = Path(tempfile.mkdtemp(prefix="swegym-bench-train-"))
    print(f"building a small qwen2 model and data in {work} ...", file=sys.stderr)
    # Small on purpose (2 cores): hidden 64, 2 layers, SmolLM2's real 49k vocabulary.
    model = make_tiny_chat_model(work / "model", arch="qwen2")
    n = 48 if a.quick else 96
    data = write_jsonl(make_sft_conversations(n, seed=7, max_turns=4, max_words=20), work / "sft.jsonl")
    print("running torchtune-full ...", file=sys.stderr)
    ours = _child(["--part", "ours", "--model", str(model), "--data", str(data), "--out", str(work / "out"),
                   "--seq", str(a.seq)])
    # Same real tokens per optimizer step: as many conversations per batch as a pack holds on average.
    batch = max(1, round(n / ours["packs"]))
    print(f"running the transformers baseline (batch {batch}) ...", file=sys.stderr)
    base = _child(["--part", "baseline", "--model", str(model), "--data", str(data), "--seq", str(a.seq),
                   "--batch", str(batch)])
    ratio = ours["tokens_per_s"] / base["tokens_per_s"]
    print(f"\n{'':28}{'torchtune-full':>16}{'transformers':>16}")
    print(f"{'real tokens / s':28}{ours['tokens_per_s']:>16.1f}{base['tokens_per_s']:>16.1f}")
    print(f"{'peak RSS (MB)':28}{ours['peak_rss_mb']:>16.0f}{base['peak_rss_mb']:>16.0f}")
    print(f"{'rows per step':28}{'1 pack':>16}{str(batch) + ' padded':>16}")
    print(f"{'packing efficiency':28}{ours['packing_efficiency']:>16.3f}")
    print(f"{'ratio (target >= 1.0)':28}{ratio:>16.2f}\n")
    print(json.dumps({"tokens_per_s": round(ours["tokens_per_s"], 2), "baseline_tokens_per_s": round(base["tokens_per_s"], 2),
                      "ratio": round(ratio, 3), "packing_efficiency": ours["packing_efficiency"],
                      "peak_rss_mb": round(ours["peak_rss_mb"], 1), "baseline_peak_rss_mb": round(base["peak_rss_mb"], 1),
                      "conversations": n, "max_seq_len": a.seq}))


if __name__ == "__main__":
    main()
