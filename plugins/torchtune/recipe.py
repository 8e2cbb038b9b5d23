"""The SFT recipe, in torchtune's shape: a class with fixed phases, for full fine-tuning and LoRA.

    recipe = SFTRecipe(cfg, lora=False)
    recipe.setup(model_dir, data, out)  # _setup_data, _setup_model, _setup_optimizer
    recipe.train()                      # the loop; _loss_step is one micro-batch
    recipe.save_checkpoint()            # HF model (LoRA: + adapter/ in PEFT layout)
    recipe.cleanup()

LoRA is an argument (``lora=True``), not a subclass. Single device (CPU or one GPU) runs
in-process; under ``torchrun`` the same phases shard the model with FSDP2, all of which lives in
:mod:`.fsdp`.
"""
from __future__ import annotations

import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

from swegym import InfrastructureError, SwegymError

from . import fsdp
from .chat_data import ChatTokenizer, read_conversations
from .config import TrainConfig
from .hf_model import (adapter_to_peft, build_model, copy_model_files, hf_to_tune, load_hf_state_dict,
                       peft_adapter_config, read_spec, save_safetensors, tune_to_hf)
from .packing import collate, pack_samples, packing_efficiency, single_packs


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


class SFTRecipe:
    """Supervised fine-tuning of a Hugging Face causal LM with torchtune modules."""

    def __init__(self, cfg: TrainConfig, *, lora: bool = False) -> None:
        self.cfg, self.lora = cfg, lora
        self.lora_cfg = cfg.lora_settings() if lora else None
        self.metrics: Any = None
        self.step = self.tokens_seen = 0
        self.elapsed = 0.0

    # -- setup ----------------------------------------------------------------------------------
    def setup(self, model_dir: str | Path, data: str | Path, output_dir: str | Path) -> None:
        """Devices, model with its weights, data, optimizer and schedule, the metrics file."""
        import torch

        self.model_dir, self.out = Path(model_dir), Path(output_dir)
        if not self.model_dir.is_dir():
            raise SwegymError(f"--model {self.model_dir} is not a directory; pass a Hugging Face model folder")
        cfg = self.cfg
        self.dist = fsdp.Dist(cfg.device)
        torch.manual_seed(cfg.seed)
        self.on_gpu = self.dist.device.type == "cuda"
        self.dtype = torch.bfloat16 if (cfg.dtype == "bf16" or (cfg.dtype == "auto" and self.on_gpu)) else torch.float32
        self.spec = read_spec(self.model_dir)
        self._setup_data(Path(data))
        self._setup_model()
        self._setup_optimizer()
        self.out.mkdir(parents=True, exist_ok=True)
        if self.dist.main:
            self.metrics = (self.out / "metrics.jsonl").open("w")
            self._log({"event": "start", "family": self.spec.family, "lora": self.lora, "packs": self.num_packs,
                       "packing_efficiency": round(self.efficiency, 4), "total_steps": self.total_steps,
                       "world_size": self.dist.world, "config": _jsonable(cfg)})

    def _setup_data(self, data: Path) -> None:
        packs, tokenizer, self.efficiency = prepare_packs(self.model_dir, data, self.cfg)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.packs = fsdp.split_packs(packs, self.dist)
        self.num_packs = len(self.packs) * self.dist.world
        cfg = self.cfg
        steps_per_epoch = max(1, math.ceil(len(self.packs) / (cfg.batch_size * cfg.grad_accum)))
        self.total_steps = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)

    def _setup_model(self) -> None:
        """torchtune builder + converted HF weights (LoRA: only the adapters train)."""
        from torchtune import training
        from torchtune.modules import TransformerSelfAttentionLayer
        from torchtune.modules.peft import get_adapter_params, set_trainable_params

        cfg = self.cfg
        with training.set_default_dtype(self.dtype), self.dist.init_device():
            self.model = build_model(self.spec, cfg.max_seq_len, self.lora_cfg)
        if self.lora:
            set_trainable_params(self.model, get_adapter_params(self.model))
        if cfg.activation_checkpointing if cfg.activation_checkpointing is not None else self.on_gpu:
            training.set_activation_checkpointing(self.model, auto_wrap_policy={TransformerSelfAttentionLayer})
        base_sd = {k: v.to(self.dtype) for k, v in hf_to_tune(self.spec, load_hf_state_dict(self.model_dir)).items()}
        result = fsdp.load_weights(self.model, base_sd, self.dist, self.dtype)
        missing = [k for k in result.missing_keys if not (self.lora and ("lora_" in k))]
        if missing or result.unexpected_keys:
            raise SwegymError(f"{self.model_dir}: weights do not match the {self.spec.family} architecture "
                              f"(missing {missing[:5]}, unexpected {list(result.unexpected_keys)[:5]})")
        from torchtune.modules.loss import CEWithChunkedOutputLoss

        self.loss_fn = CEWithChunkedOutputLoss(num_output_chunks=cfg.loss_chunks)
        self.model.set_num_output_chunks(cfg.loss_chunks)

    def _setup_optimizer(self) -> None:
        import torch
        from torchtune.training.lr_schedulers import get_cosine_schedule_with_warmup

        cfg = self.cfg
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=self.on_gpu)
        if cfg.lr_scheduler == "cosine":
            self.sched = get_cosine_schedule_with_warmup(self.opt, num_warmup_steps=cfg.warmup_steps,
                                                         num_training_steps=self.total_steps)
        else:
            self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: min(1.0, (s + 1) / (cfg.warmup_steps + 1)))

    # -- train ----------------------------------------------------------------------------------
    def train(self) -> None:
        """Epochs of shuffled packed rows, ``grad_accum`` micro-batches per optimizer step."""
        import torch
        from tqdm.auto import tqdm

        cfg, dist = self.cfg, self.dist
        bar = tqdm(total=self.total_steps, desc="train", unit="step", file=sys.stderr,
                   disable=not (cfg.progress and dist.main))
        t0 = time.perf_counter()
        self.model.train()
        try:
            for epoch in range(cfg.epochs):
                order = list(range(len(self.packs)))
                random.Random(cfg.seed + epoch).shuffle(order)
                batches = [[self.packs[i] for i in order[j:j + cfg.batch_size]] for j in range(0, len(order), cfg.batch_size)]
                for g in range(0, len(batches), cfg.grad_accum):
                    if self.step >= self.total_steps:
                        break
                    group = batches[g:g + cfg.grad_accum]
                    n_labels = dist.all_sum(float(sum(sum(1 for x in p.labels if x != -100) for b in group for p in b)))
                    loss_sum, n_tok = 0.0, 0
                    for batch in group:
                        loss, tokens = self._loss_step(batch, n_labels)
                        loss_sum += loss
                        n_tok += tokens
                    grad_norm = None
                    if cfg.max_grad_norm:
                        norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
                        grad_norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
                    self.opt.step()
                    self.opt.zero_grad(set_to_none=True)
                    self.sched.step()
                    self.step += 1
                    loss_val = dist.all_sum(loss_sum)
                    self.tokens_seen += int(dist.all_sum(n_tok))
                    self.elapsed = time.perf_counter() - t0
                    row = {"step": self.step, "epoch": epoch, "loss": round(loss_val, 6), "lr": self.sched.get_last_lr()[0],
                           "grad_norm": grad_norm, "tokens": self.tokens_seen,
                           "tokens_per_s": round(self.tokens_seen / self.elapsed, 2), "peak_rss_mb": round(_peak_rss_mb(), 1)}
                    if self.on_gpu:
                        row["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated(dist.device) / 2**20, 1)
                    if not math.isfinite(loss_val):
                        raise SwegymError(f"loss became {loss_val} at step {self.step}; lower lr or check the data")
                    self._log(row)
                    bar.set_postfix(loss=f"{loss_val:.4f}", lr=f"{row['lr']:.2e}")
                    bar.update(1)
        except torch.cuda.OutOfMemoryError as exc:  # pragma: no cover - GPU only
            raise InfrastructureError(f"GPU out of memory: {exc}; lower max_seq_len or batch_size, or enable "
                                      "activation_checkpointing") from exc
        finally:
            bar.close()
        self.elapsed = time.perf_counter() - t0

    def _loss_step(self, batch: list, n_labels: float) -> tuple[float, int]:
        """Forward and backward of one micro-batch; returns its loss (summed over labels / n_labels) and tokens."""
        dist, cfg = self.dist, self.cfg
        # Equal shapes across ranks. On a GPU also one shape per run: torchtune compiles flex
        # attention (used for the packed block mask) per row length, and after dynamo's recompile
        # limit (8) falls back to an unfused kernel that materialises every score
        # (benchmarks/gpu_check.py on an H200: ~470 tokens/s for 135M params). Packed rows are
        # ~99 % full, so padding them to max_seq_len costs little.
        pad_to = cfg.max_seq_len if dist.sharded or (self.on_gpu and cfg.packing) else None
        b = collate(batch, self.pad_id, pad_to=pad_to)
        mask = b["mask"].to(dist.device) if hasattr(b["mask"], "to") else b["mask"]
        logits = self.model(b["tokens"].to(dist.device), mask=mask, input_pos=b["input_pos"].to(dist.device))
        chunks = b["labels"].to(dist.device).chunk(len(logits), dim=1)
        loss = sum(self.loss_fn.compute_cross_entropy(lg.reshape(-1, lg.size(-1)), lb.reshape(-1))
                   for lg, lb in zip(logits, chunks)) / max(n_labels, 1.0)
        (loss * dist.world).backward()  # FSDP averages gradients over ranks; undo that
        value = float(loss.detach())
        del logits, loss
        return value, b["num_tokens"]

    # -- save -----------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Full: the HF model. LoRA: ``adapter/`` (PEFT layout) and, by default, the merged HF model."""
        import torch

        sd = fsdp.full_state_dict(self.model, self.dist)
        if self.dist.main:
            self._write_checkpoint(sd, "bfloat16" if self.dtype == torch.bfloat16 else "float32")
            self._log({"event": "end", "steps": self.step, "tokens": self.tokens_seen, "seconds": round(self.elapsed, 2),
                       "tokens_per_s": round(self.tokens_seen / self.elapsed, 2) if self.elapsed else 0.0,
                       "peak_rss_mb": round(_peak_rss_mb(), 1)})
        self.dist.barrier()
        return self.out

    def _write_checkpoint(self, sd: dict[str, Any], dtype_name: str) -> None:
        from torchtune.modules.peft import get_merged_lora_ckpt

        out, spec, lora_cfg = self.out, self.spec, self.lora_cfg
        if lora_cfg is not None:
            adir = out / "adapter"
            adir.mkdir(parents=True, exist_ok=True)
            save_safetensors(adapter_to_peft(spec, {k: v for k, v in sd.items() if "lora_" in k}), adir,
                             prefix="adapter_model")
            (adir / "adapter_config.json").write_text(
                json.dumps(peft_adapter_config(lora_cfg, str(self.model_dir.resolve())), indent=2))
            if not lora_cfg.get("save_merged", True):
                copy_model_files(self.model_dir, adir, dtype=None)
                (adir / "config.json").unlink(missing_ok=True)  # adapter dir: tokenizer files only
                return
            sd = get_merged_lora_ckpt(dict(sd), rank=int(lora_cfg["rank"]), alpha=float(lora_cfg["alpha"]))
        save_safetensors(tune_to_hf(spec, sd), out)
        copy_model_files(self.model_dir, out, dtype=dtype_name)

    # -- cleanup --------------------------------------------------------------------------------
    def cleanup(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
        if hasattr(self, "dist"):
            self.dist.close()

    def _log(self, row: dict[str, Any]) -> None:
        if self.metrics is not None:
            self.metrics.write(json.dumps(row) + "\n")
            self.metrics.flush()


def run(model_dir: str | Path, data: str | Path, output_dir: str | Path, cfg: TrainConfig, lora: bool) -> Path:
    """Train and write an HF checkpoint to ``output_dir`` (LoRA: merged model + ``adapter/``)."""
    recipe = SFTRecipe(cfg, lora=lora)
    try:
        recipe.setup(model_dir, data, output_dir)
        recipe.train()
        return recipe.save_checkpoint()
    finally:
        recipe.cleanup()


def _jsonable(cfg: TrainConfig) -> dict[str, Any]:
    import dataclasses

    return {k: v for k, v in dataclasses.asdict(cfg).items()}
