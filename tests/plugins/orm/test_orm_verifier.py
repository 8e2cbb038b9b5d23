"""The orm verifier with a real (tiny) transformers model: label positions, batching, and a verifier
trained through the torchtune-lora trainer plugin reaching AUC > 0.9."""
from __future__ import annotations

import os
import random
import time

import pytest

import swegym
from swegym import SwegymError, Trajectory
from swegym.metrics import auc

from tiny_model import tiny_model_fixture

tiny_llama = tiny_model_fixture("llama")

GOOD = ["All 14 tests passed. zebra", "OK: suite green, zebra", "zebra: every check passed"]
BAD = ["FAILED test_foo - AssertionError walrus", "walrus: 3 tests failed", "Traceback ... walrus Error"]
TASKS = ["Fix the off-by-one in range_sum", "Handle empty input in parse_csv", "Make merge stable",
         "Support unicode in slugify", "Fix timezone handling in parse_date", "Avoid crash on None in render"]


def synthetic(n: int, seed: int) -> list[Trajectory]:
    """Rollouts whose tool output separates resolved (``zebra``) from unresolved (``walrus``)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        resolved = i % 2 == 0
        obs = rng.choice(GOOD if resolved else BAD)
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": rng.choice(TASKS)},
            {"role": "assistant", "content": rng.choice(["Let me run the tests.", "Running pytest now.", "Checking."])},
            {"role": "tool", "name": "execute_bash", "content": obs},
            {"role": "assistant", "content": "I am done."},
        ]
        out.append(Trajectory(instance_id=f"demo__synth-{i}", messages=messages, run_id="synthetic",
                              scaffold="openhands", model="tiny", metadata={"sample_index": 0},
                              evaluation={"status": "resolved" if resolved else "unresolved"}))
    return out


def test_label_position_is_where_the_answers_diverge(tiny_llama):
    from transformers import AutoTokenizer

    from swegym_orm.labels import conversation, prepare

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    traj = synthetic(1, 0)[0]
    item = prepare(tok, conversation(traj, "openhands"), "openhands", None)
    prompt = tok.decode(item.input_ids)
    assert prompt.endswith("<|im_start|>assistant\n<judgement>")
    assert tok.decode([item.yes_id]) == "Y" and tok.decode([item.no_id]) == "NO"  # YES spans two tokens: Y, ES
    short = prepare(tok, conversation(traj, "openhands"), "openhands", 16)
    assert short.truncated and short.input_ids == item.input_ids[-16:]


def test_moatless_labels_are_true_false(tiny_llama):
    from transformers import AutoTokenizer

    from swegym_orm.labels import conversation, prepare

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    traj = synthetic(1, 0)[0]
    traj.patch = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,1 +1,1 @@\n-a = 1\n+a = 2\n"
    traj.metadata["problem_statement"] = "a should be 2"
    item = prepare(tok, conversation(traj, "moatless"), "moatless", None)
    assert tok.decode(item.input_ids).endswith("<|im_start|>assistant\n")
    assert (tok.decode([item.yes_id]), tok.decode([item.no_id])) == ("True", "False")


def test_batched_scores_equal_one_by_one(tiny_llama):
    trajs = synthetic(7, 1)
    trajs[3].messages[3]["content"] *= 5  # lengths differ, so rows get left-padded
    v = swegym.create("verifier", "orm", model=str(tiny_llama), batch_size=4, progress=False)
    batched = v.score(trajs)
    single = v.score_one_by_one(trajs)
    assert len(batched) == 7 and all(0.0 < s < 1.0 for s in batched)
    assert batched == pytest.approx(single, abs=1e-5)


def test_shared_prefixes_are_computed_once_and_change_no_score(tiny_llama, monkeypatch):
    """k rollouts of two tasks (plus an exact duplicate): one cache for what all share, one per
    task extending it; every score equals the one-by-one score."""
    import swegym_orm.attention as attention
    import swegym_orm.local as local

    trajs = synthetic(6, 3)
    for i, t in enumerate(trajs):
        t.messages[1]["content"] = ("Fix the parser. " if i < 3 else "Make merge stable. ") + "details " * 300
        t.messages[2]["content"] += " step" * i  # rollouts diverge after the issue
    trajs.append(trajs[0])
    calls = []
    encode = local.encode_prefix
    monkeypatch.setattr(local, "encode_prefix", lambda *a, **kw: calls.append(kw.get("start", 0)) or encode(*a, **kw))
    flash = []  # the suffix batches attend to the cache through the mask-free path
    kernel = attention._flash_with_lse
    monkeypatch.setattr(attention, "_flash_with_lse", lambda *a: flash.append(a[0].shape) or kernel(*a))
    v = swegym.create("verifier", "orm", model=str(tiny_llama), batch_size=8, progress=False)
    batched = v.score(trajs)
    assert calls[0] == 0 and len(calls) >= 3 and all(start > 0 for start in calls[1:])
    assert flash, "batched scoring did not use the shared-prefix attention"
    n_flash = len(flash)
    assert batched == pytest.approx(v.score_one_by_one(trajs), abs=1e-4)
    assert len(flash) == n_flash  # one by one: plain causal attention, no cache
    assert batched[0] == pytest.approx(batched[-1], abs=1e-6)


def test_scores_real_swegym_rollouts(tiny_llama, shared_data):
    from swegym.export.inputs import read_trajectories

    trajs = list(read_trajectories([shared_data / "openhands-trajectories-mixed.jsonl"]))[:4]
    v = swegym.create("verifier", "orm", model=str(tiny_llama), batch_size=4, max_length=256, progress=False)
    with pytest.warns(UserWarning, match="cut from the left"):
        scores = v.score(trajs)
    assert len(scores) == 4 and all(0.0 < s < 1.0 for s in scores)


@pytest.fixture
def one_thread():
    """Tiny models on a shared 2-core box run far faster on one thread than fighting for two
    (``SWEGYM_ORM_THREADS`` overrides it, to show the trained verifier does not depend on it)."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(ORM_THREADS)
    yield
    torch.set_num_threads(saved)


#: Marker words: each rollout repeats one word of its class. Several words per class, so an
#: untrained random model (which maps each word to an arbitrary score) cannot separate by chance.
POSITIVE_WORDS = ["zebra", "lion"]
NEGATIVE_WORDS = ["walrus", "otter"]


def separable(n: int, seed: int) -> list[Trajectory]:
    """Short rollouts whose tool output and final words carry the outcome (a class's marker word),
    repeated so a 2-layer random model can pick it up in a few dozen LoRA steps."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        resolved = i % 2 == 0
        word = rng.choice(POSITIVE_WORDS if resolved else NEGATIVE_WORDS)
        obs = rng.choice(["Tests ran.", "pytest output:", "Result:"]) + " " + " ".join([word] * 12)
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": rng.choice(TASKS)},
            {"role": "assistant", "content": rng.choice(["Let me run the tests.", "Running pytest now.", "Checking."])},
            {"role": "tool", "name": "execute_bash", "content": obs},
            {"role": "assistant", "content": f"I am done. {word} {word} {word}"},
        ]
        out.append(Trajectory(instance_id=f"demo__synth-{seed}-{i}", messages=messages, run_id="synthetic",
                              scaffold="openhands", model="tiny", metadata={"sample_index": 0},
                              evaluation={"status": "resolved" if resolved else "unresolved"}))
    return out


def pretrained_like(src, dst, scale: float = 10.0):
    """Copy the tiny model with its final RMSNorm gain scaled up.

    Why: LoRA freezes the (tied) embeddings and the norms. With a random init (embeddings std 0.02,
    gain 1) every logit stays near ±1, so no adapter can express a verdict; a pretrained model's
    output logits span a far wider range. Scaling the final norm's gain x10 widens the logits
    (up to ~±13) while leaving the residual stream as initialised.

    Not the embeddings: they are tied, so scaling them x10 also makes the frozen input embedding
    dominate the residual stream ten-fold. The adapters (whose layers start at std 0.02) then only
    matter once they have grown huge, which took lr=1e-2 with alpha/rank=8; at that step size Adam
    is chaotic (grad norms 3 -> 590, loss spikes) and the outcome followed float rounding: scaling
    every base weight by (1 + 1e-6 noise) moved the held-out AUC from 0.99 to 0.01, 0.68 or 0.92,
    and a fresh machine's kernels gave 0.15. With the gain scaled instead, lr 3e-3 and alpha/rank 2,
    the loss falls monotonically, the same perturbations leave the curve unchanged to 1e-5 and AUC
    at 1.0, and so do other seeds and thread counts.
    """
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    weights = load_file(dst / "model.safetensors")
    weights["model.norm.weight"] = weights["model.norm.weight"] * scale
    save_file(weights, dst / "model.safetensors", metadata={"format": "pt"})
    return dst


#: A small, fast LoRA run: short prompts (~300 tokens, two per packed row), few steps, a moderate lr
#: (loss falls monotonically; see pretrained_like for why not 1e-2).
LORA_CONFIG = {"lr": 3e-3, "max_steps": 30, "epochs": 100, "max_seq_len": 640, "batch_size": 1,
               "lr_scheduler": "constant", "lora_rank": 16, "lora_alpha": 32.0, "progress": False}

#: Seed (data, held-out data and LoRA init) and torch threads of the end-to-end run; CI runs the
#: defaults, and `SWEGYM_ORM_SEED=7 SWEGYM_ORM_THREADS=2 pytest ...` checks the result is no luck.
ORM_SEED = int(os.environ.get("SWEGYM_ORM_SEED", "0"))
ORM_THREADS = int(os.environ.get("SWEGYM_ORM_THREADS", "1"))


def test_verifier_trained_by_the_lora_trainer_separates_held_out_rollouts(tiny_llama, tmp_path, one_thread):
    """Issue 9's target, end to end: run dir -> export_orm -> torchtune-lora -> orm verifier -> AUC > 0.9."""
    import json

    from swegym.export.orm import export_orm

    start = time.process_time()  # CPU seconds: stable when other jobs load the machine
    base = pretrained_like(tiny_llama, tmp_path / "base")
    run = tmp_path / "run"
    run.mkdir()
    rollouts = separable(64, seed=2 * ORM_SEED + 1)
    (run / "trajectories.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in rollouts))
    stats = export_orm(run, tmp_path / "orm.jsonl")
    assert stats.written == 64
    held_out = separable(24, seed=2 * ORM_SEED + 2)
    labels = [bool(t.resolved) for t in held_out]

    before = auc(swegym.create("verifier", "orm", model=str(base), progress=False).score(held_out), labels)
    out = swegym.create("trainer", "torchtune-lora").train(base, tmp_path / "orm.jsonl", tmp_path / "out",
                                                       {**LORA_CONFIG, "seed": ORM_SEED})
    assert (out / "adapter" / "adapter_config.json").is_file()
    v = swegym.create("verifier", "orm", model=str(out), batch_size=8, progress=False)
    scores = v.score(held_out)
    after = auc(scores, labels)
    cpu = time.process_time() - start
    losses = [row["loss"] for row in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in row]
    print(f"seed {ORM_SEED} threads {ORM_THREADS}: AUC before {before:.3f} after {after:.3f}; "
          f"loss {losses[0]:.2f} -> {losses[-1]:.2f}; {cpu:.1f} CPU s")
    assert after > 0.9, (before, after)
    # A stable run: the loss never climbs far above its best so far (stable runs: at most +7 %;
    # the chaotic lr=1e-2 runs climbed 1.6-2.6x).
    assert losses[-1] < losses[0] / 4 and max(x / min(losses[:i]) for i, x in enumerate(losses) if i) < 1.25, losses
    assert cpu < 90


def test_bad_configuration_is_a_clear_error(tmp_path):
    with pytest.raises(SwegymError, match="exactly one of"):
        swegym.create("verifier", "orm")
    with pytest.raises(SwegymError, match="not a Hugging Face model directory"):
        swegym.create("verifier", "orm", model=str(tmp_path))
    with pytest.raises(SwegymError, match="unknown verifier template"):
        swegym.create("verifier", "orm", model=str(tmp_path), template="nope")
    with pytest.raises(SwegymError, match="api_model"):
        swegym.create("verifier", "orm", api_base="http://127.0.0.1:9/v1")
