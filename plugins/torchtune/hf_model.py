"""Hugging Face checkpoints ↔ torchtune models: pick the builder, convert keys, write HF dirs.

Why: the paper trains Qwen2.5 (and Llama-family) models stored in HF layout, and the result must be
an HF directory that ``transformers`` and vLLM load. torchtune supplies the component builders and
key converters; this module maps an HF ``config.json`` onto builder arguments and writes the
output (weights, config, tokenizer, generation config; for LoRA also a PEFT-layout adapter).

Only torchtune's public API is used (the builders and converters each model package exports).
Its ``FullModelHFCheckpointer`` is not: in 0.6.1 it writes into ``epoch_N/`` subfolders under its
own file names (we write a plain HF directory that ``transformers`` and vLLM load as is), and it
converts every adapter with ``tune_to_peft_adapter_weights``, which permutes q/k ``lora_B`` rows for
Llama's interleaved RoPE also for Qwen2, which has none, corrupting Qwen2 adapters. The converters it
calls for the base weights are the ones used here.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swegym import SwegymError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
SKIP_FILES = {"model.safetensors.index.json", "pytorch_model.bin.index.json"}
SHARD_BYTES = 4 * 1024**3


@dataclass
class ModelSpec:
    """What torchtune needs to rebuild an HF model."""

    family: str  # "qwen2" | "llama3" | "llama3_2"
    config: dict[str, Any]
    num_heads: int
    num_kv_heads: int
    dim: int
    head_dim: int
    tied: bool

    def builder_args(self, max_seq_len: int) -> dict[str, Any]:
        c = self.config
        args = dict(vocab_size=c["vocab_size"], num_layers=c["num_hidden_layers"], num_heads=self.num_heads,
                    num_kv_heads=self.num_kv_heads, embed_dim=self.dim, intermediate_dim=c["intermediate_size"],
                    max_seq_len=max(max_seq_len, 1), norm_eps=c.get("rms_norm_eps", 1e-6),
                    rope_base=_rope_theta(c), attn_dropout=0.0)
        if self.family in ("qwen2", "llama3_2"):
            args["tie_word_embeddings"] = self.tied
        if self.family == "llama3_2":
            args["scale_factor"] = _rope_scaling(c).get("factor", 32)
        return args


def _rope_theta(c: dict[str, Any]) -> float:
    """rope_theta, from ``rope_parameters`` (transformers ≥ 5) or the top level (older files)."""
    params = c.get("rope_parameters") or {}
    return float(params.get("rope_theta", c.get("rope_theta", 10000.0)))


def _rope_scaling(c: dict[str, Any]) -> dict[str, Any]:
    scaling = c.get("rope_scaling") or {}
    params = c.get("rope_parameters") or {}
    if params.get("rope_type", "default") != "default":
        scaling = params
    return scaling


def read_spec(model_dir: Path) -> ModelSpec:
    """Map ``config.json`` to a torchtune family; unsupported architectures raise a clear error."""
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise SwegymError(f"{model_dir} has no config.json; --model must be a Hugging Face model directory")
    c = json.loads(cfg_path.read_text())
    mtype = c.get("model_type")
    heads = c["num_attention_heads"]
    kv = c.get("num_key_value_heads") or heads
    dim = c["hidden_size"]
    head_dim = c.get("head_dim") or dim // heads
    if head_dim * heads != dim:
        raise SwegymError(f"{cfg_path}: head_dim*heads != hidden_size is not supported by torchtune's builders")
    tied = bool(c.get("tie_word_embeddings", False))
    if mtype == "qwen2":
        if c.get("use_sliding_window"):
            raise SwegymError(f"{cfg_path}: sliding-window Qwen2 is not supported; set use_sliding_window false")
        family = "qwen2"
    elif mtype == "llama":
        if c.get("attention_bias") or c.get("mlp_bias"):
            raise SwegymError(f"{cfg_path}: Llama with attention/MLP bias is not supported")
        rtype = _rope_scaling(c).get("rope_type") or _rope_scaling(c).get("type")
        if rtype in (None, "default"):
            family = "llama3"
        elif rtype == "llama3":
            family = "llama3_2"
        else:
            raise SwegymError(f"{cfg_path}: rope scaling {rtype!r} is not supported (only none or 'llama3')")
    else:
        raise SwegymError(f"{cfg_path}: model_type {mtype!r} is not supported; use a Qwen2/Qwen2.5 or Llama-family model")
    return ModelSpec(family, c, heads, kv, dim, head_dim, tied)


def build_model(spec: ModelSpec, max_seq_len: int, lora: dict[str, Any] | None = None):
    """A torchtune ``TransformerDecoder`` (with LoRA adapters when ``lora`` is given)."""
    from torch import nn
    from torchtune.modules import TiedLinear

    args = spec.builder_args(max_seq_len)
    if spec.family == "qwen2":
        from torchtune.models.qwen2 import lora_qwen2 as lora_fn, qwen2 as full_fn
    elif spec.family == "llama3_2":
        from torchtune.models.llama3_2 import lora_llama3_2 as lora_fn, llama3_2 as full_fn
    else:
        from torchtune.models.llama3 import lora_llama3 as lora_fn, llama3 as full_fn
    if lora is None:
        model = full_fn(**args)
    else:
        if lora.get("apply_lora_to_output") and spec.tied:
            raise SwegymError("LoRA on the output projection is impossible with tied embeddings; set lora_output: false")
        model = lora_fn(lora_attn_modules=list(lora["attn_modules"]), apply_lora_to_mlp=bool(lora["mlp"]),
                        apply_lora_to_output=bool(lora.get("apply_lora_to_output", False)),
                        lora_rank=int(lora["rank"]), lora_alpha=float(lora["alpha"]),
                        lora_dropout=float(lora["dropout"]), **args)
    if spec.family == "llama3" and spec.tied and isinstance(model.output, nn.Linear):
        # torchtune's llama3 builder has no tie flag; TiedLinear is a plain callable, not a module.
        del model._modules["output"]
        model.output = TiedLinear(model.tok_embeddings)
    return model


def load_hf_state_dict(model_dir: Path) -> dict[str, Any]:
    """Every tensor of the HF checkpoint (single or sharded safetensors, or .bin)."""
    import torch
    from safetensors.torch import load_file

    files = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("pytorch_model*.bin"))
    if not files:
        raise SwegymError(f"{model_dir} has no *.safetensors or pytorch_model*.bin weights")
    sd: dict[str, Any] = {}
    for f in files:
        sd.update(load_file(str(f)) if f.suffix == ".safetensors" else torch.load(f, map_location="cpu", weights_only=True))
    return sd


def hf_to_tune(spec: ModelSpec, sd: dict[str, Any]) -> dict[str, Any]:
    """HF keys → torchtune keys (Llama q/k rows permuted to torchtune's interleaved RoPE)."""
    if spec.tied:
        sd = {k: v for k, v in sd.items() if k != "lm_head.weight"}
    if spec.family == "qwen2":
        from torchtune.models.qwen2 import qwen2_hf_to_tune

        return qwen2_hf_to_tune(sd, spec.num_heads, spec.num_kv_heads, spec.dim, spec.head_dim, spec.tied)
    from torchtune.models.convert_weights import hf_to_tune as llama_hf_to_tune

    return llama_hf_to_tune(sd, spec.num_heads, spec.num_kv_heads, spec.dim, spec.head_dim)


def tune_to_hf(spec: ModelSpec, sd: dict[str, Any]) -> dict[str, Any]:
    """torchtune keys → HF keys (inverse of :func:`hf_to_tune`)."""
    if spec.family == "qwen2":
        from torchtune.models.qwen2 import qwen2_tune_to_hf

        return qwen2_tune_to_hf(sd, spec.num_heads, spec.num_kv_heads, spec.dim, spec.head_dim, spec.tied)
    from torchtune.models.convert_weights import tune_to_hf as llama_tune_to_hf

    return llama_tune_to_hf(sd, spec.num_heads, spec.num_kv_heads, spec.dim, spec.head_dim)


def adapter_to_peft(spec: ModelSpec, adapter: dict[str, Any]) -> dict[str, Any]:
    """torchtune LoRA weights → PEFT names (what vLLM's LoRA loader reads).

    Llama's lora_B rows for q/k get the same RoPE permutation as the base weights. Qwen2 uses
    HF's rotate-half layout in torchtune too, so nothing is permuted there (torchtune 0.6.1's
    checkpointer permutes Qwen2 adapters anyway, which corrupts them; we do not).
    """
    from torchtune.models.convert_weights import tune_to_peft_adapter_weights

    if spec.family != "qwen2":
        return tune_to_peft_adapter_weights(adapter, spec.num_heads, spec.num_kv_heads, spec.dim, spec.head_dim)
    from torchtune.models.qwen2 import qwen2_tune_to_hf

    out = {}
    for key, value in adapter.items():
        # The public converter names the base weight (layers.0.attn.q_proj.weight ->
        # model.layers.0.self_attn.q_proj.weight); PEFT appends lora_A / lora_B to it.
        for tune_part, peft_part in ((".lora_a.weight", ".lora_A.weight"), (".lora_b.weight", ".lora_B.weight")):
            if key.endswith(tune_part):
                base = key[: -len(tune_part)] + ".weight"
                (hf_key,) = qwen2_tune_to_hf({base: value}, spec.num_heads, spec.num_kv_heads, spec.dim, spec.head_dim)
                out["base_model.model." + hf_key[: -len(".weight")] + peft_part] = value
                break
        else:
            raise SwegymError(f"unexpected LoRA weight {key!r}; only lora_a/lora_b adapters are supported")
    return out


def peft_adapter_config(lora: dict[str, Any], base_model: str) -> dict[str, Any]:
    """adapter_config.json in PEFT's layout."""
    names = {"q_proj": "q_proj", "k_proj": "k_proj", "v_proj": "v_proj", "output_proj": "o_proj"}
    targets = [names[m] for m in lora["attn_modules"]]
    if lora["mlp"]:
        targets += ["gate_proj", "down_proj", "up_proj"]
    if lora.get("apply_lora_to_output"):
        targets.append("lm_head")
    return {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_model,
            "r": int(lora["rank"]), "lora_alpha": float(lora["alpha"]), "lora_dropout": float(lora["dropout"]),
            "target_modules": targets, "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
            "modules_to_save": None, "use_dora": False, "use_rslora": False}


def save_safetensors(sd: dict[str, Any], out_dir: Path, prefix: str = "model") -> None:
    """Write contiguous CPU tensors, sharded with an index above SHARD_BYTES (the HF layout)."""
    from safetensors.torch import save_file

    sd = {k: v.detach().to("cpu").contiguous() for k, v in sd.items()}
    shards: list[dict[str, Any]] = [{}]
    size = 0
    for k, v in sd.items():
        n = v.numel() * v.element_size()
        if shards[-1] and size + n > SHARD_BYTES:
            shards.append({})
            size = 0
        shards[-1][k] = v
        size += n
    if len(shards) == 1:
        save_file(shards[0], str(out_dir / f"{prefix}.safetensors"), metadata={"format": "pt"})
        return
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        name = f"{prefix}-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(out_dir / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in shard})
    total = sum(v.numel() * v.element_size() for v in sd.values())
    (out_dir / f"{prefix}.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))


def copy_model_files(src: Path, dst: Path, dtype: str | None = None) -> None:
    """Copy config, tokenizer and generation config (everything but weights); record the dtype."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and not f.name.endswith(WEIGHT_SUFFIXES) and f.name not in SKIP_FILES:
            shutil.copy(f, dst / f.name)
    if dtype:
        cfg = json.loads((dst / "config.json").read_text())
        cfg["torch_dtype"] = dtype
        if "dtype" in cfg:
            cfg["dtype"] = dtype
        (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    if not (dst / "generation_config.json").exists():
        cfg = json.loads((src / "config.json").read_text())
        gen = {k: cfg[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if cfg.get(k) is not None}
        (dst / "generation_config.json").write_text(json.dumps(gen, indent=2))
