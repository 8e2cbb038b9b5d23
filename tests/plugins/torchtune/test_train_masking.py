"""Label masking and packing for SFT: exactly the assistant tokens (+ end-of-turn) carry labels."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("torchtune")
pytest.importorskip("transformers")

from tiny_model import make_sft_conversations, tiny_model_fixture, write_jsonl  # noqa: E402

tiny_qwen2 = tiny_model_fixture("qwen2")
tiny_llama = tiny_model_fixture("llama")

CONV = [
    {"role": "system", "content": "You fix bugs."},
    {"role": "user", "content": "The test test_foo fails."},
    {"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\": \"cat foo.py\"}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "def foo(): return 1"},
    {"role": "tool", "tool_call_id": "c2", "content": "SECOND TOOL OUTPUT"},
    {"role": "assistant", "content": "I see the bug in foo."},
    {"role": "user", "content": "Go on."},
    {"role": "assistant", "content": "Fixed: foo returns 2 now."},
]


def _tok(path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _labeled_runs(sample):
    """Contiguous runs of labeled token ids."""
    runs, cur = [], []
    for t, l in zip(sample.tokens, sample.labels):
        if l != -100:
            assert l == t
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return runs


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_exactly_assistant_tokens_and_eot_carry_labels(arch, request):
    from swegym_torchtune.chat_data import ChatTokenizer

    tok = _tok(request.getfixturevalue(f"tiny_{arch}"))
    ct = ChatTokenizer(tok)
    sample = ct.encode(CONV)
    runs = _labeled_runs(sample)
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    text = tok.apply_chat_template(CONV, tokenize=False)
    assistants = [m for m in CONV if m["role"] == "assistant"]
    assert len(runs) == len(assistants)
    for run, msg in zip(runs, assistants):
        assert run[-1] == eot, "each assistant turn's end-of-turn token is trained"
        body = tok.decode(run[:-1])
        assert body.startswith(msg["content"])
        if arch == "qwen2" and msg.get("tool_calls"):
            assert '"name": "bash"' in body  # the tool call itself is trained
    labeled_text = "".join(tok.decode(r) for r in runs)
    for forbidden in ("You fix bugs", "test_foo fails", "def foo()", "SECOND TOOL OUTPUT", "Go on", "<|im_start|>"):
        assert forbidden not in labeled_text
    # Every non-labeled token is outside the assistant replies: their count adds up.
    n_unlabeled = sum(1 for l in sample.labels if l == -100)
    assert n_unlabeled + sum(map(len, runs)) == len(sample.tokens) == len(tok(text, add_special_tokens=False)["input_ids"])


def test_truncation_keeps_the_label_of_the_last_kept_eot(tiny_qwen2):
    from swegym_torchtune.chat_data import ChatTokenizer

    tok = _tok(tiny_qwen2)
    full = ChatTokenizer(tok).encode(CONV)
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    # Cut exactly after the second assistant turn's end-of-turn token (torchtune 0.6.1 masks it).
    labeled_eots = [i for i, (t, l) in enumerate(zip(full.tokens, full.labels)) if t == eot and l != -100]
    cut = labeled_eots[1] + 1
    short = ChatTokenizer(tok, max_seq_len=cut).encode(CONV)
    assert len(short.tokens) == cut
    assert short.labels[-1] == eot
    assert short.labels == full.labels[:cut]


def test_real_openhands_trajectories_mask(tiny_qwen2, shared_data):
    from swegym_torchtune.chat_data import ChatTokenizer, read_conversations

    tok = _tok(tiny_qwen2)
    ct = ChatTokenizer(tok)
    convs = read_conversations(shared_data / "openhands-trajectories-sample.jsonl")
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    for conv in convs:
        sample = ct.encode(conv["messages"], conv["tools"])
        runs = _labeled_runs(sample)
        assert len(runs) == sum(m["role"] == "assistant" for m in conv["messages"])
        assert all(r[-1] == eot for r in runs)
        labeled = "".join(tok.decode(r) for r in runs)
        assert "<tool_response>" not in labeled and "<tools>" not in labeled


def test_malformed_rows_name_row_and_field(tmp_path):
    from swegym import DataError
    from swegym_torchtune.chat_data import read_conversations

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})
                   + "\n" + json.dumps({"messages": [{"role": "robot", "content": "x"}]}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl, row 2.*role is 'robot'"):
        read_conversations(bad)
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "only a question"}]}) + "\n")
    with pytest.raises(DataError, match="no assistant message"):
        read_conversations(bad)


def test_packing_is_dense_and_isolates_samples(tiny_llama, tmp_path):
    """FFD packing fills rows ≥ 95%, and a sample's logits are the same packed or alone."""
    import torch

    from swegym_torchtune.chat_data import ChatTokenizer, read_conversations
    from swegym_torchtune.hf_model import build_model, hf_to_tune, load_hf_state_dict, read_spec
    from swegym_torchtune.packing import collate, pack_samples, packing_efficiency, single_packs

    tok = _tok(tiny_llama)
    data = write_jsonl(make_sft_conversations(60, seed=3), tmp_path / "d.jsonl")
    samples = ChatTokenizer(tok, max_seq_len=512).encode_all(read_conversations(data), progress=False)
    packs = pack_samples(samples, 512)
    assert packing_efficiency(packs, 512) >= 0.95
    assert sorted(n for p in packs for n in p.seq_lens) == sorted(len(s.tokens) for s in samples)

    spec = read_spec(tiny_llama)
    model = build_model(spec, 512)
    model.load_state_dict(hf_to_tune(spec, load_hf_state_dict(tiny_llama)))
    model.eval()
    packed = next(p for p in packs if len(p.seq_lens) >= 2)
    with torch.no_grad():
        b = collate([packed], tok.pad_token_id)
        logits = model(b["tokens"], mask=b["mask"], input_pos=b["input_pos"])
        first, second = packed.seq_lens[0], packed.seq_lens[1]
        alone = single_packs([type(samples[0])(packed.tokens[first:first + second], [0] * second)])
        a = collate(alone, tok.pad_token_id)
        ref = model(a["tokens"], mask=a["mask"], input_pos=a["input_pos"])
    assert torch.allclose(logits[0, first:first + second], ref[0], atol=1e-4)

    # torchtune's model gives the same logits as transformers on the same weights (key conversion).
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    ids = torch.tensor([samples[0].tokens[:64]])
    with torch.no_grad():
        ours = model(ids)
        theirs = hf(ids).logits
    assert torch.allclose(ours, theirs, atol=1e-3)
