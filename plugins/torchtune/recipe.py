"""The SFT recipe: one file, like torchtune's recipes, for full fine-tuning and LoRA.

Single device (CPU or one GPU) runs in-process. Under ``torchrun`` (``WORLD_SIZE`` > 1) the same
code shards the model with FSDP2 (``fully_shard`` per decoder layer, like torchtune's
``full_finetune_distributed``), splits packed rows across ranks and gathers a full state dict on
rank 0 for saving. The multi-GPU path cannot run on this CPU-only machine; it follows torchtune's
distributed recipes line by line but is untested here.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from swegym import InfrastructureError, SwegymError

from .chat_data import ChatTokenizer, read_conversations
from .config import TrainConfig
from .hf_model import (adapter_to_peft, build_model, copy_model_files, hf_to_tune, load_hf_state_dict,
                       peft_adapter_config, read_spec, save_safetensors, tune_to_hf)
from .packing import collate, pack_samples, packing_efficiency, single_packs


class _Dist:
    """Rank bookkeeping; a no-op on one device."""

    def __init__(self, device_pref: str):
        import torch

        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        want_cuda = device_pref == "cuda" or (device_pref == "auto" and torch.cuda.is_available())
        if device_pref == "cuda" and not torch.cuda.is_available():
            raise SwegymError("device 'cuda' requested but no GPU is visible; use --config with device: cpu")
        self.device = torch.device(f"cuda:{local}" if want_cuda else "cpu")
        if want_cuda:
            torch.cuda.set_device(self.device)
        if self.world > 1:
            import torch.distributed as dist

            if not want_cuda:
                raise SwegymError("multi-process training needs GPUs (torchrun with one process per GPU)")
            dist.init_process_group("nccl")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, value: float) -> float:
        if self.world == 1:
            return value
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], device=self.device, dtype=torch.float64)
        dist.all_reduce(t)
        return float(t.item())

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prepare_packs(model_dir: Path, data: Path, cfg: TrainConfig) -> tuple[list, Any, float]:
    """Read, tokenize (template + mask) and pack the data; returns packs, tokenizer, efficiency."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    convs = read_conversations(data)
    samples = ChatTokenizer(tokenizer, cfg.max_seq_len, cfg.eot_tokens).encode_all(convs, progress=cfg.progress)
    if cfg.packing:
        packs = pack_samples(samples, cfg.max_seq_len, seed=cfg.seed)
        eff = packing_efficiency(packs, cfg.max_seq_len)
    else:
        packs = single_packs(samples)
        random.Random(cfg.seed).shuffle(packs)
        eff = packing_efficiency(packs, max(len(p) for p in packs))
    return packs, tokenizer, eff


def run(model_dir: str | Path, data: str | Path, output_dir: str | Path, cfg: TrainConfig, lora: bool) -> Path:
    """Train and write an HF checkpoint to ``output_dir`` (LoRA: merged model + ``adapter/``)."""
    import torch
    from tqdm.auto import tqdm
    from torchtune import training
    from torchtune.modules import TransformerSelfAttentionLayer
    from torchtune.modules.loss import CEWithChunkedOutputLoss
    from torchtune.modules.peft import get_adapter_params, get_merged_lora_ckpt, set_trainable_params
    from torchtune.training.lr_schedulers import get_cosine_schedule_with_warmup

    model_dir, data, out = Path(model_dir), Path(data), Path(output_dir)
    if not model_dir.is_dir():
        raise SwegymError(f"--model {model_dir} is not a directory; pass a Hugging Face model folder")
    dist = _Dist(cfg.device)
    torch.manual_seed(cfg.seed)
    on_gpu = dist.device.type == "cuda"
    dtype = torch.bfloat16 if (cfg.dtype == "bf16" or (cfg.dtype == "auto" and on_gpu)) else torch.float32
    spec = read_spec(model_dir)
    packs, tokenizer, efficiency = prepare_packs(model_dir, data, cfg)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lora_cfg = cfg.lora_settings() if lora else None

    # Model: torchtune builder + converted HF weights.
    with training.set_default_dtype(dtype), (torch.device("meta") if dist.world > 1 else dist.device):
        model = build_model(spec, cfg.max_seq_len, lora_cfg)
    if lora:
        set_trainable_params(model, get_adapter_params(model))
    if cfg.activation_checkpointing if cfg.activation_checkpointing is not None else on_gpu:
        training.set_activation_checkpointing(model, auto_wrap_policy={TransformerSelfAttentionLayer})
    base_sd = hf_to_tune(spec, load_hf_state_dict(model_dir))
    base_sd = {k: v.to(dtype) for k, v in base_sd.items()}
    if dist.world > 1:
        training.shard_model(model, [lambda n, m: isinstance(m, TransformerSelfAttentionLayer)],
                             cpu_offload=False, reshard_after_forward=True)
        from torchtune.modules.peft import LoRALinear

        # Like torchtune's distributed recipes: buffers and fresh adapters are not in the checkpoint.
        with training.set_default_dtype(dtype), dist.device:
            for m in model.modules():
                if isinstance(m, LoRALinear):
                    m.lora_a.to_empty(device=dist.device)
                    m.lora_b.to_empty(device=dist.device)
                    m.initialize_parameters()
                if hasattr(m, "rope_init"):
                    m.rope_init()
        result = training.load_from_full_model_state_dict(model, base_sd, dist.device, strict=False)
    else:
        result = model.load_state_dict(base_sd, strict=False)
    missing = [k for k in result.missing_keys if not (lora and ("lora_" in k))]
    if missing or result.unexpected_keys:
        raise SwegymError(f"{model_dir}: weights do not match the {spec.family} architecture "
                          f"(missing {missing[:5]}, unexpected {list(result.unexpected_keys)[:5]})")
    del base_sd

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=on_gpu)
    if dist.world > 1 and len(packs) % dist.world:
        packs = packs[: len(packs) - len(packs) % dist.world]  # every rank takes the same number of steps
        if not packs:
            raise SwegymError(f"fewer packed rows than GPUs ({dist.world}); add data or use fewer processes")
    my_packs = packs[dist.rank::dist.world]
    steps_per_epoch = max(1, math.ceil(len(my_packs) / (cfg.batch_size * cfg.grad_accum)))
    total_steps = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    if cfg.lr_scheduler == "cosine":
        sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=cfg.warmup_steps, num_training_steps=total_steps)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (cfg.warmup_steps + 1)))
    loss_fn = CEWithChunkedOutputLoss(num_output_chunks=cfg.loss_chunks)
    model.set_num_output_chunks(cfg.loss_chunks)

    out.mkdir(parents=True, exist_ok=True)
    metrics = (out / "metrics.jsonl").open("w") if dist.main else None
    if metrics:
        metrics.write(json.dumps({"event": "start", "family": spec.family, "lora": lora, "packs": len(packs),
                                  "packing_efficiency": round(efficiency, 4), "total_steps": total_steps,
                                  "world_size": dist.world, "config": _jsonable(cfg)}) + "\n")
    bar = tqdm(total=total_steps, desc="train", unit="step", file=sys.stderr,
               disable=not (cfg.progress and dist.main))
    step, t0, tokens_seen = 0, time.perf_counter(), 0
    model.train()
    try:
        for epoch in range(cfg.epochs):
            order = list(range(len(my_packs)))
            random.Random(cfg.seed + epoch).shuffle(order)
            batches = [[my_packs[i] for i in order[j:j + cfg.batch_size]] for j in range(0, len(order), cfg.batch_size)]
            for g in range(0, len(batches), cfg.grad_accum):
                if step >= total_steps:
                    break
                group = batches[g:g + cfg.grad_accum]
                n_labels = dist.all_sum(float(sum(sum(1 for x in p.labels if x != -100) for b in group for p in b)))
                loss_sum, n_tok = 0.0, 0
                for batch in group:
                    # Equal shapes across ranks. On a GPU also one shape per run: torchtune compiles
                    # flex attention (used for the packed block mask) per row length, and after
                    # dynamo's recompile limit (8) falls back to an unfused kernel that materialises
                    # every score (benchmarks/gpu_check.py on an H200: ~470 tokens/s for 135M params).
                    # Packed rows are ~99 % full, so padding them to max_seq_len costs little.
                    pad_to = cfg.max_seq_len if dist.world > 1 or (on_gpu and cfg.packing) else None
                    b = collate(batch, pad_id, pad_to=pad_to)
                    logits = model(b["tokens"].to(dist.device), mask=b["mask"].to(dist.device) if hasattr(b["mask"], "to") else b["mask"],
                                   input_pos=b["input_pos"].to(dist.device))
                    labels = b["labels"].to(dist.device)
                    chunks = labels.chunk(len(logits), dim=1)
                    loss = sum(loss_fn.compute_cross_entropy(lg.reshape(-1, lg.size(-1)), lb.reshape(-1))
                               for lg, lb in zip(logits, chunks)) / max(n_labels, 1.0)
                    (loss * dist.world).backward()  # FSDP averages gradients over ranks; undo that
                    loss_sum += float(loss.detach())
                    n_tok += b["num_tokens"]
                    del logits, loss
                grad_norm = None
                if cfg.max_grad_norm:
                    norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                    grad_norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
                opt.step()
                opt.zero_grad(set_to_none=True)
                sched.step()
                step += 1
                loss_val = dist.all_sum(loss_sum)
                tokens_seen += int(dist.all_sum(n_tok))
                elapsed = time.perf_counter() - t0
                row = {"step": step, "epoch": epoch, "loss": round(loss_val, 6), "lr": sched.get_last_lr()[0],
                       "grad_norm": grad_norm, "tokens": tokens_seen, "tokens_per_s": round(tokens_seen / elapsed, 2),
                       "peak_rss_mb": round(_peak_rss_mb(), 1)}
                if on_gpu:
                    row["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated(dist.device) / 2**20, 1)
                if not math.isfinite(loss_val):
                    raise SwegymError(f"loss became {loss_val} at step {step}; lower lr or check the data")
                if metrics:
                    metrics.write(json.dumps(row) + "\n")
                    metrics.flush()
                bar.set_postfix(loss=f"{loss_val:.4f}", lr=f"{row['lr']:.2e}")
                bar.update(1)
        bar.close()
        _save(model, spec, model_dir, out, dist, lora_cfg, dtype, training, get_merged_lora_ckpt)
        if metrics:
            elapsed = time.perf_counter() - t0
            metrics.write(json.dumps({"event": "end", "steps": step, "tokens": tokens_seen,
                                      "seconds": round(elapsed, 2), "tokens_per_s": round(tokens_seen / elapsed, 2),
                                      "peak_rss_mb": round(_peak_rss_mb(), 1)}) + "\n")
    except torch.cuda.OutOfMemoryError as exc:  # pragma: no cover - GPU only
        raise InfrastructureError(f"GPU out of memory: {exc}; lower max_seq_len or batch_size, or enable "
                                  "activation_checkpointing") from exc
    finally:
        if metrics:
            metrics.close()
        dist.close()
    return out


def _save(model, spec, model_dir: Path, out: Path, dist: _Dist, lora_cfg, dtype, training, merge_fn) -> None:
    """Full: the HF model. LoRA: ``adapter/`` (PEFT layout) and, by default, the merged HF model."""
    import torch

    if dist.world > 1:
        sd = training.gather_cpu_state_dict(model, dist.main, device=dist.device)
    else:
        sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if not dist.main:
        dist.barrier()
        return
    dtype_name = "bfloat16" if dtype == torch.bfloat16 else "float32"
    if lora_cfg is not None:
        adapter = {k: v for k, v in sd.items() if "lora_" in k}
        adir = out / "adapter"
        adir.mkdir(parents=True, exist_ok=True)
        save_safetensors(adapter_to_peft(spec, adapter), adir, prefix="adapter_model")
        (adir / "adapter_config.json").write_text(json.dumps(peft_adapter_config(lora_cfg, str(model_dir.resolve())), indent=2))
        if not lora_cfg.get("save_merged", True):
            copy_model_files(model_dir, adir, dtype=None)
            (adir / "config.json").unlink(missing_ok=True)  # adapter dir: tokenizer files only
            dist.barrier()
            return
        sd = merge_fn(dict(sd), rank=int(lora_cfg["rank"]), alpha=float(lora_cfg["alpha"]))
    save_safetensors(tune_to_hf(spec, sd), out)
    copy_model_files(model_dir, out, dtype=dtype_name)
    dist.barrier()


def _jsonable(cfg: TrainConfig) -> dict[str, Any]:
    import dataclasses

    return {k: v for k, v in dataclasses.asdict(cfg).items()}
