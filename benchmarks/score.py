"""Verifier scoring throughput: shared-prefix batched scoring vs one rollout at a time.

Target (issue 9): batched scoring >= 3x faster than one by one on CPU. Both modes run in this
process on the same model and the same rollouts; the baseline is measured in the same run and is
the straightforward one: one full-prompt forward pass per rollout (logits at the answer only).

The rollouts follow the structure of real best@k verifier input (SWE-Gym's OpenHands ORM
renderings): each task's k rollouts share the expert-judge system message, the agent's system
prompt with its tool descriptions and the task instruction with the issue (2-3k tokens here),
then diverge. The shared part is real: the system prompt, tools and first user message of the
real SWE-Gym trajectories in ``../shared/data`` (3 tasks: mypy-10308, mypy-15976, MONAI-5686).
The divergent tails are synthetic but made of real material: 1-4 agent turns drawn at random
from that task's real trajectories, tool outputs cut to 80-400 characters (real tails are longer,
which only makes the shared prefix a smaller share; see --max-turns).

k defaults to 16, the paper's OpenHands setting (best@16): the k rollouts of a task are scored
together and share one prefix computation. With k=8 the prefix is spread over half as many rows.
Counting multiply-adds, sharing saves 2.6x of the work at k=8 and 3.3x at k=16 on this random
model's shape, where attention is half the per-token cost at 3k tokens of context; on the shape
of the paper's 32B verifier (attention a few percent) it saves 3.2x and 4.3x.

    .venv/bin/python benchmarks/score.py                  # random llama: hidden 256, 4 layers, head dim 64
    .venv/bin/python benchmarks/score.py --k 8 --batch-size 8     # best@8, as the paper's Moatless figure
    .venv/bin/python benchmarks/score.py --hidden 64 --layers 2   # the tests' tiny model shape
    .venv/bin/python benchmarks/score.py --model out/verifier --k 16

The last printed line is one JSON object: batched_per_s, single_per_s, ratio (+ details).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SWEGYM_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCES = ("openhands-trajectories-mixed.jsonl", "openhands-trajectories-sample.jsonl")
MAX_ACTION_CHARS = 800


def _turns(messages: list[dict]) -> list[list[dict]]:
    """An agent's messages after the task → units of one assistant message plus the tool results it got."""
    units: list[list[dict]] = []
    for msg in messages:
        if msg.get("role") == "assistant":
            units.append([msg])
        elif msg.get("role") == "tool" and units:
            units[-1].append(msg)
    # Very long actions (whole files written in one call) would make a tail longer than the prefix.
    return [u for u in units if u[0].get("tool_calls") and len(str(u[0]["tool_calls"])) <= MAX_ACTION_CHARS]


def rollouts(k: int = 8, max_turns: int = 4, seed: int = 0):
    """k rollouts per real task: the task's real prefix (system prompt, tools, issue) + synthetic tails."""
    from swegym import SwegymError, Trajectory
    from swegym.export.inputs import read_trajectories

    files = [SHARED / name for name in SOURCES]
    if not all(f.is_file() for f in files):
        raise SwegymError(f"benchmarks/score.py needs the shared reference data ({', '.join(SOURCES)}) in {SHARED}; "
                          "set SWEGYM_SHARED_DATA to its folder")
    by_task: dict[str, list] = {}
    for traj in read_trajectories(files):
        by_task.setdefault(traj.instance_id, []).append(traj)
    rng = random.Random(seed)
    out = []
    for task, real in sorted(by_task.items()):
        head = real[0].messages[:2]  # the agent's system prompt and the task instruction + issue
        pool = [u for t in real for u in _turns(t.messages[2:])]
        seen: set[str] = set()
        for sample in range(k):
            tail: list[dict] = []
            while not tail or repr(tail) in seen:  # k distinct rollouts
                tail = []
                for unit in rng.sample(pool, min(len(pool), rng.randint(1, max_turns))):
                    tail.append(dict(unit[0]))
                    tail += [dict(m, content=(m.get("content") or "")[:rng.randint(80, 400)]) for m in unit[1:]]
            seen.add(repr(tail))
            resolved = rng.random() < 0.5
            out.append(Trajectory(instance_id=task, messages=[dict(m) for m in head] + tail, tools=real[0].tools,
                                  run_id="bench", scaffold="openhands", metadata={"sample_index": sample},
                                  evaluation={"status": "resolved" if resolved else "unresolved"}))
    rng.shuffle(out)  # a run file interleaves tasks; the scorer must find the shared prefixes itself
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="HF model directory (default: build a random model with the SmolLM2 tokenizer)")
    parser.add_argument("--hidden", type=int, default=256, help="hidden size of the random model")
    parser.add_argument("--layers", type=int, default=4, help="layers of the random model")
    parser.add_argument("--k", type=int, default=16, help="rollouts per task (3 real tasks); 16 as in the paper's best@16")
    parser.add_argument("--max-turns", type=int, default=4, help="most agent turns in a synthetic tail")
    parser.add_argument("--batch-size", type=int, default=16, help="rows per forward pass (one task's k rollouts)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many timings per mode")
    args = parser.parse_args()

    import torch

    import swegym
    from swegym_orm.labels import conversation, prepare
    from swegym_orm.local import common_prefix_length, pad_id, score_prepared

    torch.set_num_threads(args.threads)
    model_dir = args.model
    shape = "given"
    if model_dir is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_model import make_tiny_chat_model

        heads = max(4, args.hidden // 64)
        shape = f"random llama, hidden {args.hidden}, {args.layers} layers, {heads} heads, SmolLM2 tokenizer"
        print(f"building a {shape} ...", file=sys.stderr)
        model_dir = str(make_tiny_chat_model(Path(tempfile.mkdtemp(prefix="swegym-bench-score-")) / "m",
                                             hidden_size=args.hidden, num_layers=args.layers, num_heads=heads,
                                             num_kv_heads=max(2, heads // 2), intermediate_size=args.hidden * 3))
        config = json.loads((Path(model_dir) / "config.json").read_text())
        config["max_position_embeddings"] = 8192  # real prompts run long; nothing may be cut (RoPE has no table)
        (Path(model_dir) / "config.json").write_text(json.dumps(config))
    verifier = swegym.create("verifier", "orm", model=model_dir, batch_size=args.batch_size, progress=False)
    trajs = rollouts(args.k, args.max_turns)
    n = len(trajs)

    # Prompt rendering + tokenization is the same work in both modes; time it apart from the model.
    t0 = time.perf_counter()
    items = [prepare(verifier._tokenizer, conversation(t, "openhands"), "openhands", verifier.max_length) for t in trajs]
    prep_s = time.perf_counter() - t0
    pad = pad_id(verifier._tokenizer)
    lengths = sorted(len(it.input_ids) for it in items)
    by_task: dict[str, list] = {}
    for t, it in zip(trajs, items):
        by_task.setdefault(t.instance_id, []).append(it)
    task_shared = sorted(common_prefix_length(group) for group in by_task.values())
    everyone = common_prefix_length(items)
    total_tokens = sum(lengths)

    def timed(batch: int, share: bool = True, repeats: int | None = None) -> tuple[float, list[float]]:
        best, scores = float("inf"), []
        for _ in range(repeats or args.repeats):
            start = time.perf_counter()
            scores = score_prepared(verifier._model, items, pad, batch, share_prefix=share)
            best = min(best, time.perf_counter() - start)
        return best, scores

    score_prepared(verifier._model, items[:2], pad, 2)  # warm-up
    single_s, single = timed(1)
    batched_s, batched = timed(args.batch_size)
    plain_s, plain = timed(args.batch_size, share=False, repeats=1)  # informational: run once
    max_diff = max(max(abs(a - b) for a, b in zip(single, batched)), max(abs(a - b) for a, b in zip(single, plain)))
    # End to end (render + tokenize + forward), batched, through the public Verifier.score.
    t0 = time.perf_counter()
    verifier.score(trajs)
    e2e_s = time.perf_counter() - t0

    rows = [
        ("one by one (full prompt per rollout)", single_s, n / single_s),
        (f"batched {args.batch_size}, shared prefixes cached", batched_s, n / batched_s),
        (f"batched {args.batch_size}, no prefix cache (padding only)", plain_s, n / plain_s),
        ("batched end to end (incl. render+tokenize)", e2e_s, n / e2e_s),
        ("render + tokenize only", prep_s, n / prep_s),
    ]
    print(f"model: {shape} ({model_dir}); torch threads {args.threads}")
    print(f"{n} rollouts = {n // args.k} real tasks x {args.k}; prompt tokens min/median/max = "
          f"{lengths[0]}/{lengths[n // 2]}/{lengths[-1]}, total {total_tokens}; "
          f"tokens shared within a task: {task_shared}, by all: {everyone}")
    print(f"{'mode':<55}{'seconds':>10}{'rollouts/s':>12}")
    for name, secs, rate in rows:
        print(f"{name:<55}{secs:>10.3f}{rate:>12.2f}")
    ratio = single_s / batched_s
    print(f"speed-up batched vs one by one: {ratio:.2f}x (target >= 3x); max |score diff| = {max_diff:.2e} (must be < 1e-4)")
    print(json.dumps({"batched_per_s": round(n / batched_s, 2), "single_per_s": round(n / single_s, 2),
                      "ratio": round(ratio, 2), "n": n, "k": args.k, "batch_size": args.batch_size,
                      "model": shape, "prompt_tokens_median": lengths[n // 2], "task_shared_tokens": task_shared,
                      "batched_no_prefix_per_s": round(n / plain_s, 2), "end_to_end_per_s": round(n / e2e_s, 2),
                      "max_abs_diff": max_diff, "correct": max_diff < 1e-4, "target_met": ratio >= 3.0}))


if __name__ == "__main__":
    main()
