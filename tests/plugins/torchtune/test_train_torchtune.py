"""torchtune-full / torchtune-lora on a tiny random model on CPU: loss falls, outputs load and generate."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("torchtune")
pytest.importorskip("transformers")

from tiny_model import make_sft_conversations, tiny_model_fixture, write_jsonl  # noqa: E402

tiny_qwen2 = tiny_model_fixture("qwen2")
tiny_llama = tiny_model_fixture("llama")


@pytest.fixture(scope="module")
def sft_file(tmp_path_factory):
    return write_jsonl(make_sft_conversations(24, seed=1, max_words=20), tmp_path_factory.mktemp("sft") / "sft.jsonl")


def _losses(out):
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r], rows


def _generate(path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    enc = tok.apply_chat_template([{"role": "user", "content": "alpha beta gamma"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=6, do_sample=False)
    return out.shape[1] - enc["input_ids"].shape[1]


def test_registered():
    import swegym

    full, lora = swegym.create("trainer", "torchtune-full"), swegym.create("trainer", "torchtune-lora")
    assert type(full) is type(lora) and (full.lora, lora.lora) == (False, True)  # LoRA is an argument
    assert (full.name, lora.name) == ("torchtune-full", "torchtune-lora")


def test_full_finetune_loss_falls_and_output_loads(tiny_qwen2, sft_file, tmp_path):
    import swegym

    out = swegym.create("trainer", "torchtune-full").train(
        tiny_qwen2, sft_file, tmp_path / "full",
        {"max_steps": 8, "lr": 3e-3, "max_seq_len": 256, "progress": False, "lr_scheduler": "constant"})
    losses, rows = _losses(out)
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < 0.9 * sum(losses[:2]) / 2, losses
    assert rows[0]["event"] == "start" and rows[0]["packing_efficiency"] > 0.8
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json"):
        assert (out / name).is_file(), name
    assert _generate(out) > 0


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_lora_adapter_merges_into_the_saved_model(arch, request, sft_file, tmp_path):
    """The PEFT adapter reproduces the merged weights: Llama's q/k rows permuted back from
    torchtune's interleaved RoPE, Qwen2's (rotate-half in torchtune too) left as they are."""
    from safetensors.torch import load_file

    import swegym

    tiny = request.getfixturevalue(f"tiny_{arch}")
    out = swegym.create("trainer", "torchtune-lora", lora_rank=4, lora_alpha=8).train(
        tiny, sft_file, tmp_path / "lora", {"max_steps": 3, "lr": 1e-2, "max_seq_len": 256, "progress": False})
    cfg = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 4 and "o_proj" in cfg["target_modules"]
    adapter = load_file(out / "adapter" / "adapter_model.safetensors")
    base = load_file(tiny / "model.safetensors")
    merged = load_file(out / "model.safetensors")
    scale = cfg["lora_alpha"] / cfg["r"]
    for name in ("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.k_proj", "model.layers.0.mlp.up_proj"):
        a = adapter[f"base_model.model.{name}.lora_A.weight"]
        b = adapter[f"base_model.model.{name}.lora_B.weight"]
        assert b.abs().max() > 0, "adapter was trained"
        # PEFT semantics W + (alpha/r)·B·A reproduce the merged weights (q/k permutation included).
        assert (base[name + ".weight"] + scale * b @ a - merged[name + ".weight"]).abs().max() < 1e-5
    assert _generate(out) > 0


def test_cli_train_with_yaml_config(tiny_qwen2, sft_file, tmp_path):
    from click.testing import CliRunner

    from swegym.cli import cli

    cfg = tmp_path / "c.yaml"
    cfg.write_text("trainer: torchtune-lora\nlr: 5.0e-3\nmax_seq_len: 256\nlora_rank: 2\nprogress: false\nsave_merged: false\n")
    res = CliRunner().invoke(cli, ["train", "--model", str(tiny_qwen2), "--data", str(sft_file), "-o",
                                   str(tmp_path / "o"), "--config", str(cfg), "--max-steps", "2", "--json"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.output.strip().splitlines()[-1])
    assert result["trainer"] == "torchtune-lora" and result["steps"] == 2
    assert json.loads((tmp_path / "o" / "adapter" / "adapter_config.json").read_text())["r"] == 2
    assert (tmp_path / "o" / "adapter" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "o" / "model.safetensors").exists()  # save_merged: false → adapter only

    bad = CliRunner().invoke(cli, ["train", "--model", str(tiny_qwen2), "--data", str(tmp_path / "nope.jsonl"),
                                   "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "does not exist" in bad.output
    typo = tmp_path / "typo.yaml"
    typo.write_text("learning_rate: 1.0\n")
    bad = CliRunner().invoke(cli, ["train", "--model", str(tiny_qwen2), "--data", str(sft_file), "-o",
                                   str(tmp_path / "y"), "--config", str(typo)])
    assert bad.exit_code == 2 and "learning_rate" in bad.output
