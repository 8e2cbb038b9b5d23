"""Verifier scoring throughput: batched, left-padded forward passes vs one rollout at a time.

Target (issue 9): batched scoring >= 3x faster than one by one on CPU. Both modes run in this
process on the same model and the same rollouts; the baseline is measured in the same run.
The rollouts are shaped like best@k input: k samples per task sharing the agent's system prompt and
the issue. Batched scoring groups rollouts with a common prompt prefix and computes that prefix
once per batch; the table also shows batching without the prefix cache, to separate the two gains.

    .venv/bin/python benchmarks/score.py                     # a tiny random model with a real tokenizer
    .venv/bin/python benchmarks/score.py --model out/verifier --n 32 --batch-size 8

The last printed line is one JSON object: batched_per_s, single_per_s, ratio.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rollouts(n: int, k: int = 8, seed: int = 0):
    """best@k-shaped synthetic rollouts: n // k tasks x k samples. Samples of a task share the
    agent's system prompt and the issue text and then diverge (1-4 turns), as in SWE-Gym sampling."""
    from swegym import Trajectory

    rng = random.Random(seed)
    words = "pytest assert module import fixture patch diff error traceback value config".split()
    system = "You are a helpful assistant that can interact with a computer to solve tasks. " + " ".join(
        rng.choices(words, k=120))
    out = []
    for i in range(n):
        task = i // k
        issue = f"Fix issue {task}: " + " ".join(random.Random(task).choices(words, k=150))
        turns = []
        for _ in range(rng.randint(1, 4)):
            turns.append({"role": "assistant", "content": " ".join(rng.choices(words, k=rng.randint(5, 30)))})
            turns.append({"role": "tool", "name": "execute_bash", "content": " ".join(rng.choices(words, k=rng.randint(10, 60)))})
        messages = [{"role": "system", "content": system}, {"role": "user", "content": issue}] + turns
        out.append(Trajectory(instance_id=f"bench__x-{task}", messages=messages, run_id="bench", scaffold="openhands",
                              metadata={"sample_index": i % k},
                              evaluation={"status": "resolved" if i % 2 else "unresolved"}))
    rng.shuffle(out)  # a run file interleaves tasks; the scorer must find the shared prefixes itself
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="HF model directory (default: build a tiny random model)")
    parser.add_argument("--n", type=int, default=48, help="rollouts to score")
    parser.add_argument("--k", type=int, default=8, help="samples per task (they share a prompt prefix)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many timings per mode")
    args = parser.parse_args()

    import torch

    import swegym
    from swegym_orm.labels import conversation, prepare
    from swegym_orm.local import pad_id, score_prepared

    torch.set_num_threads(args.threads)
    model_dir = args.model
    if model_dir is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_model import make_tiny_chat_model

        print("building a tiny model (hidden 64, 2 layers, SmolLM2 tokenizer)...", file=sys.stderr)
        model_dir = str(make_tiny_chat_model(Path(tempfile.mkdtemp(prefix="swegym-bench-score-")) / "m"))
    verifier = swegym.create("verifier", "orm", model=model_dir, batch_size=args.batch_size, progress=False)
    trajs = rollouts(args.n, args.k)

    # Prompt rendering + tokenization is the same work in both modes; time it apart from the model.
    t0 = time.perf_counter()
    items = [prepare(verifier._tokenizer, conversation(t, "openhands"), "openhands", verifier.max_length) for t in trajs]
    prep_s = time.perf_counter() - t0
    pad = pad_id(verifier._tokenizer)
    lengths = sorted(len(it.input_ids) for it in items)

    def timed(batch: int, share: bool = True) -> tuple[float, list[float]]:
        best, scores = float("inf"), []
        for _ in range(args.repeats):
            start = time.perf_counter()
            scores = score_prepared(verifier._model, items, pad, batch, share_prefix=share)
            best = min(best, time.perf_counter() - start)
        return best, scores

    score_prepared(verifier._model, items[:2], pad, 2)  # warm-up
    single_s, single = timed(1)
    batched_s, batched = timed(args.batch_size)
    plain_s, _ = timed(args.batch_size, share=False)
    max_diff = max(abs(a - b) for a, b in zip(single, batched))
    # End to end (render + tokenize + forward), batched, through the public Verifier.score.
    t0 = time.perf_counter()
    verifier.score(trajs)
    e2e_s = time.perf_counter() - t0

    rows = [
        ("one by one (batch 1)", single_s, args.n / single_s),
        (f"batched (batch {args.batch_size}), shared prefix once/batch", batched_s, args.n / batched_s),
        (f"batched (batch {args.batch_size}), no prefix reuse", plain_s, args.n / plain_s),
        ("batched end to end (incl. render+tokenize)", e2e_s, args.n / e2e_s),
        ("render + tokenize only", prep_s, args.n / prep_s),
    ]
    print(f"{args.n} rollouts ({args.k} per task), prompt tokens min/median/max = {lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}, "
          f"torch threads {args.threads}")
    print(f"{'mode':<50}{'seconds':>10}{'rollouts/s':>12}")
    for name, secs, rate in rows:
        print(f"{name:<50}{secs:>10.3f}{rate:>12.1f}")
    ratio = single_s / batched_s
    print(f"speed-up batched vs one by one: {ratio:.2f}x (target >= 3x); max |score diff| = {max_diff:.2e}")
    print(json.dumps({"batched_per_s": round(args.n / batched_s, 2), "single_per_s": round(args.n / single_s, 2),
                      "ratio": round(ratio, 2), "n": args.n, "batch_size": args.batch_size,
                      "end_to_end_per_s": round(args.n / e2e_s, 2), "max_abs_diff": max_diff,
                      "batched_no_prefix_per_s": round(args.n / plain_s, 2),
                      "target_met": ratio >= 3.0}))


if __name__ == "__main__":
    main()
