"""The orm verifier with a real (tiny) transformers model: label positions, batching, training to AUC > 0.9."""
from __future__ import annotations

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
# The verdict depends on the tail of the log; cutting prompts to it keeps CPU training fast.
MAX_LENGTH = 96
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


def train_minimal(model_dir, trajectories, steps: int = 30, lr: float = 3e-3, batch: int = 8,
                  max_length: int | None = MAX_LENGTH) -> None:
    """A minimal CPU loop: cross-entropy on the label token at the answer position, then save.

    Used because it trains exactly what the verifier scores; the torchtune trainer plugin trains
    full conversations and is exercised by its own tests.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swegym_orm.labels import conversation, prepare
    from swegym_orm.local import pad_id

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    items = [prepare(tok, conversation(t, "openhands"), "openhands", max_length) for t in trajectories]
    targets = [it.yes_id if t.resolved else it.no_id for it, t in zip(items, trajectories)]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    rng = random.Random(0)
    pad = pad_id(tok)
    model.train()
    for _ in range(steps):
        idx = rng.sample(range(len(items)), batch)
        width = max(len(items[i].input_ids) for i in idx)
        ids = torch.full((batch, width), pad, dtype=torch.long)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for row, i in enumerate(idx):
            n = len(items[i].input_ids)
            ids[row, width - n:] = torch.tensor(items[i].input_ids)
            mask[row, width - n:] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=1).logits[:, -1, :]
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([targets[i] for i in idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.save_pretrained(model_dir)


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


def test_scores_real_swegym_rollouts(tiny_llama, shared_data):
    from swegym.export.inputs import read_trajectories

    trajs = list(read_trajectories([shared_data / "openhands-trajectories-mixed.jsonl"]))[:4]
    v = swegym.create("verifier", "orm", model=str(tiny_llama), batch_size=4, max_length=256, progress=False)
    with pytest.warns(UserWarning, match="cut from the left"):
        scores = v.score(trajs)
    assert len(scores) == 4 and all(0.0 < s < 1.0 for s in scores)


@pytest.fixture
def one_thread():
    """Tiny models on a shared 2-core box run far faster on one thread than fighting for two."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def test_trained_tiny_verifier_separates_held_out_rollouts(tiny_llama, tmp_path, one_thread):
    import shutil

    model_dir = tmp_path / "verifier"
    shutil.copytree(tiny_llama, model_dir)
    train, held_out = synthetic(64, seed=1), synthetic(24, seed=2)
    start = time.monotonic()
    v0 = swegym.create("verifier", "orm", model=str(model_dir), batch_size=8, max_length=MAX_LENGTH, progress=False)
    before = auc(v0.score(held_out), [bool(t.resolved) for t in held_out])
    train_minimal(model_dir, train)
    v = swegym.create("verifier", "orm", model=str(model_dir), batch_size=8, max_length=MAX_LENGTH, progress=False)
    scores = v.score(held_out)
    after = auc(scores, [bool(t.resolved) for t in held_out])
    elapsed = time.monotonic() - start
    print(f"AUC before {before:.3f} after {after:.3f} in {elapsed:.1f}s")
    assert after > 0.9, (before, after)
    assert elapsed < 90


def test_bad_configuration_is_a_clear_error(tmp_path):
    with pytest.raises(SwegymError, match="exactly one of"):
        swegym.create("verifier", "orm")
    with pytest.raises(SwegymError, match="not a Hugging Face model directory"):
        swegym.create("verifier", "orm", model=str(tmp_path))
    with pytest.raises(SwegymError, match="unknown verifier template"):
        swegym.create("verifier", "orm", model=str(tmp_path), template="nope")
    with pytest.raises(SwegymError, match="api_model"):
        swegym.create("verifier", "orm", api_base="http://127.0.0.1:9/v1")
