"""Benchmark: torchtune trainer vs TRL's SFTTrainer and a plain transformers loop, CPU, same data.

Measures real (non-pad) tokens per second and peak RSS of each (each in its own subprocess, so
memory is not shared), plus the packing efficiency of the trainer's rows. The baseline is the
natural HF loop: AutoModelForCausalLM + AdamW over padded batches of whole conversations, with
the same tokens and labels (our chat template mask), the same lr and about the same number of
real tokens per optimizer step.

The peer (issue 19) is TRL's ``SFTTrainer`` (its own virtualenv, ``benchmarks/_peers.py``, on
the very same torch/transformers/datasets builds as swegym): packing on (its default ``bfd``
strategy, padding-free rows of ``max_seq_len``), full fine-tune, batch 1, AdamW lr 1e-4 without
weight decay, cosine schedule, no warm-up, gradient clipping 1.0, fp32 on the CPU. It trains on
the same token ids and labels as the recipe (swegym's chat-template tokenization, written out as
a pre-tokenized dataset with a ``labels`` column, which TRL uses as is), so the masked-label
count (tokens that carry a loss) must come out equal.

    .venv/bin/python benchmarks/train.py            # ~3-6 minutes on 2 cores
    .venv/bin/python benchmarks/train.py --quick    # fewer conversations

Last line: {"tokens_per_s", "baseline_tokens_per_s", "ratio", "packing_efficiency", "peak_rss_mb",
"peers": {"trl": {...}}, "tokens_per_s_vs_trl", "peak_rss_vs_trl", ...}
Targets (issue 8): ratio >= 1.0, packing_efficiency >= 0.95. Issue 19: tokens/s >= TRL's, peak
memory <= TRL's, the same masked-label count.
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
sys.path.insert(0, str(ROOT / "benchmarks"))
import _peers  # noqa: E402

TRL_DRIVER = '''
import json, resource, sys, time
from importlib.metadata import version
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

model_dir, data, out, seq = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ds = Dataset.from_list([json.loads(x) for x in open(data)])  # pre-tokenized: input_ids + labels
tok = AutoTokenizer.from_pretrained(model_dir)
torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
cfg = SFTConfig(output_dir=out, max_length=seq, packing=True, per_device_train_batch_size=1,
                gradient_accumulation_steps=1, num_train_epochs=1, learning_rate=1e-4, lr_scheduler_type="cosine",
                warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", logging_steps=1,
                save_strategy="no", report_to=[], use_cpu=True, bf16=False, fp16=False, seed=0,
                gradient_checkpointing=False, dataloader_num_workers=0, disable_tqdm=True)

class Count(TrainerCallback):
    def __init__(self):
        self.times, self.tokens, self.labels = [], [], 0
    def on_step_end(self, args, state, control, **kw):
        self.times.append(time.perf_counter())

trainer = SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok)
counter = Count()
trainer.add_callback(counter)
collate = trainer.data_collator
def counting(features):
    batch = collate(features)
    counter.tokens.append(int(batch["input_ids"].numel()))  # padding-free: one row, no pad tokens
    counter.labels += int((batch["labels"][..., 1:] != -100).sum())  # the model shifts labels by one
    return batch
trainer.data_collator = counting
trainer.train()
steps = len(counter.times)
# skip the first step (allocator warm-up), as for the others
tps = sum(counter.tokens[1:steps]) / (counter.times[-1] - counter.times[0])
print("@@swegym-result@@ " + json.dumps({"tokens_per_s": tps, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "steps": steps, "masked_labels": counter.labels, "tokens": sum(counter.tokens[:steps]),
                  "version": version("trl"), "transformers": version("transformers"), "torch": version("torch")}))
'''


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


def _samples(model: Path, data: Path, seq: int) -> list:
    """The recipe's own tokenization of ``data`` (token ids + unshifted labels per conversation)."""
    from transformers import AutoTokenizer

    from swegym_torchtune.chat_data import ChatTokenizer, read_conversations
    from swegym_torchtune.config import TrainConfig

    tok = AutoTokenizer.from_pretrained(model)
    return ChatTokenizer(tok, seq, TrainConfig().eot_tokens).encode_all(read_conversations(data), progress=False)


def write_pretokenized(model: Path, data: Path, seq: int, out: Path) -> dict:
    """``data`` as TRL's pre-tokenized format (the recipe's ids and labels, nothing re-tokenized),
    and the recipe's count of tokens that carry a loss (its packs shift labels by one)."""
    masked = 0
    with out.open("w") as fh:
        for s in _samples(model, data, seq):
            fh.write(json.dumps({"input_ids": s.tokens, "labels": s.labels}) + "\n")
            masked += sum(1 for x in s.labels[1:] if x != -100)
    return {"path": str(out), "masked_labels": masked}


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
    ap.add_argument("--no-peers", action="store_true", help="skip TRL")
    ap.add_argument("--part", choices=["ours", "baseline", "tokenize"], help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.part == "ours":
        print(json.dumps(run_ours(Path(a.model), Path(a.data), Path(a.out), a.seq)))
        return
    if a.part == "tokenize":
        print(json.dumps(write_pretokenized(Path(a.model), Path(a.data), a.seq, Path(a.out))))
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
    trl: dict = {}
    if not a.no_peers:
        print("running TRL SFTTrainer (packing) ...", file=sys.stderr)
        ours["masked_labels"] = _child(["--part", "tokenize", "--model", str(model), "--data", str(data), "--seq", str(a.seq),
                "--out", str(work / "sft.tokens.jsonl")])["masked_labels"]
        trl = _peers.run("trl", TRL_DRIVER, [str(model), str(work / "sft.tokens.jsonl"), str(work / "trl"), str(a.seq)],
                         host_site=True, env={"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"})
    ratio = ours["tokens_per_s"] / base["tokens_per_s"]
    heads = ["torchtune-full", "transformers"] + (["TRL " + trl["version"]] if trl else [])
    print("\n" + f"{'':28}" + "".join(f"{h:>16}" for h in heads))
    cols = [ours, base] + ([trl] if trl else [])
    print(f"{'real tokens / s':28}" + "".join(f"{c['tokens_per_s']:>16.1f}" for c in cols))
    print(f"{'peak RSS (MB)':28}" + "".join(f"{c['peak_rss_mb']:>16.0f}" for c in cols))
    print(f"{'rows per step':28}{'1 pack':>16}{str(batch) + ' padded':>16}" + (f"{'1 pack (bfd)':>16}" if trl else ""))
    if trl:
        print(f"{'tokens with a loss':28}{ours['masked_labels']:>16}{'':>16}{trl['masked_labels']:>16}")
    print(f"{'packing efficiency':28}{ours['packing_efficiency']:>16.3f}")
    print(f"{'ratio (target >= 1.0)':28}{ratio:>16.2f}\n")
    peer_fields: dict = {}
    if trl:
        peer_fields = {
            "peers": {"trl": {"version": trl["version"], "tokens_per_s": round(trl["tokens_per_s"], 2),
                              "peak_rss_mb": round(trl["peak_rss_mb"], 1), "masked_labels": trl["masked_labels"],
                              "steps": trl["steps"], "transformers": trl["transformers"], "torch": trl["torch"]}},
            "masked_labels": ours["masked_labels"],
            "tokens_per_s_vs_trl": round(ours["tokens_per_s"] / trl["tokens_per_s"], 3),
            "peak_rss_vs_trl": round(ours["peak_rss_mb"] / trl["peak_rss_mb"], 3),
            "masked_labels_equal": ours["masked_labels"] == trl["masked_labels"],
        }
        ok = {"tokens_per_s >= TRL": peer_fields["tokens_per_s_vs_trl"] >= 1.0,
              "peak memory <= TRL": peer_fields["peak_rss_vs_trl"] <= 1.0,
              "same masked-label count": peer_fields["masked_labels_equal"]}
        print("vs TRL: " + ", ".join(f"{k} {'OK' if v else 'MISSED'}" for k, v in ok.items()) + "\n")
    print(json.dumps({"tokens_per_s": round(ours["tokens_per_s"], 2), "baseline_tokens_per_s": round(base["tokens_per_s"], 2),
                      "ratio": round(ratio, 3), "packing_efficiency": ours["packing_efficiency"],
                      "peak_rss_mb": round(ours["peak_rss_mb"], 1), "baseline_peak_rss_mb": round(base["peak_rss_mb"], 1),
                      "conversations": n, "max_seq_len": a.seq, **peer_fields}))


if __name__ == "__main__":
    main()
