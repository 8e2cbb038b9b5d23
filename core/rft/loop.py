"""The RFT loop: sample → evaluate → export → train → next policy, one folder per iteration.

``W/iter-<i>/`` holds ``rollouts/`` (a ``swegym run`` directory) + ``sample.json``, ``sft.jsonl`` + ``export.json``
(the training pool: every resolved trajectory of the seed runs and iterations 0..i),
``checkpoint/`` + ``train.json``. Every stage first looks for its own output and skips when it is
there, so re-running the same loop resumes where it stopped.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import SwegymError
from ..files import write_json_atomic
from ..types import Task
from .config import RFTConfig
from .summary import format_table, write_summary

EXPORT_FILE = "export.json"
TRAIN_FILE = "train.json"
SAMPLE_FILE = "sample.json"


def _stderr(message: str) -> None:
    print(f"[rft] {message}", file=sys.stderr, flush=True)


class RFTLoop:
    """Runs an :class:`RFTConfig` over ``tasks``. Stages are methods so each can be reused alone."""

    def __init__(self, config: RFTConfig, tasks: Sequence[Task], *, dataset: str | None = None,
                 progress: bool = True, trainer: Any = None, log: Callable[[str], Any] = _stderr) -> None:
        config.validate()
        if not tasks:
            raise SwegymError("rft: no tasks to sample; check -d/--instance-id/--limit (try `swegym tasks -d ...`)")
        self.config, self.tasks, self.dataset = config, list(tasks), dataset
        self.progress, self.log = progress, log
        self._trainer = trainer
        self.work_dir = Path(config.work_dir).expanduser().resolve()
        self.records: list[dict[str, Any]] = []

    # -- paths -----------------------------------------------------------------------------------
    def iter_dir(self, i: int) -> Path:
        return self.work_dir / f"iter-{i}"

    def rollouts_dir(self, i: int) -> Path:
        return self.iter_dir(i) / "rollouts"

    def pool(self, i: int) -> list[str]:
        """Training sources at iteration ``i``: seed runs, then the rollouts of iterations 0..i."""
        runs = [str(Path(r).expanduser().resolve()) for r in self.config.seed_runs]
        return runs + [str(self.rollouts_dir(j)) for j in range(i + 1)
                       if (self.rollouts_dir(j) / "trajectories.jsonl").is_file()]

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run (or resume) every iteration; return the ``rft.json`` summary."""
        cfg = self.config
        self.work_dir.mkdir(parents=True, exist_ok=True)
        base = str(Path(cfg.model).expanduser().resolve())
        current, latest_ckpt = base, None
        self.records = []
        for i in range(cfg.iterations):
            folder = self.iter_dir(i)
            folder.mkdir(parents=True, exist_ok=True)
            self.log(f"iteration {i + 1}/{cfg.iterations} ({folder})")
            record: dict[str, Any] = {"iteration": i, "seconds": {}}
            self.records.append(record)
            sampled = self.sample(i, current)
            record["seconds"]["sample"] = sampled.pop("seconds", None)
            record.update(sampled)
            self._save()
            stats = self.export(i)
            record["seconds"]["export"] = stats.get("seconds")
            record.update({"sft": str(folder / "sft.jsonl"), "train_samples": stats["written"],
                           "train_tasks": stats["tasks"], "pool": stats["pool"]})
            self._save()
            last = i == cfg.iterations - 1
            start = base if cfg.train_from == "base" else (latest_ckpt or base)
            skip = "last iteration (--no-train-last)" if last and not cfg.train_last else None
            trained = self.train(i, start, skip_reason=skip)
            record["seconds"]["train"] = trained.get("seconds")
            record.update({"training": trained["training"], "checkpoint": trained.get("checkpoint"),
                           "trained_from": trained.get("trained_from")})
            if trained.get("checkpoint"):
                latest_ckpt = current = trained["checkpoint"]
            self._save(final_model=current)
        summary = self._save(final_model=current)
        self.log("done\n" + format_table(summary))
        return summary

    def _save(self, final_model: str | None = None) -> dict[str, Any]:
        summary = {"work_dir": str(self.work_dir), "config": self.config.public(),
                   "tasks": [t.instance_id for t in self.tasks], "dataset": self.dataset,
                   "iterations": self.records, "final_model": final_model}
        write_summary(self.work_dir, summary)
        return summary

    # -- stage 1+2: sample and evaluate ----------------------------------------------------------
    def policy_for(self, i: int, model: str) -> tuple[str, dict[str, Any], str | None]:
        """(policy name, options, name to serve ``model`` under or None) for iteration ``i``."""
        cfg = self.config
        if i == 0 and cfg.first_policy:
            return cfg.first_policy, dict(cfg.first_policy_options), None
        if cfg.api_base:
            name = f"rft-iter-{i}"
            return cfg.server_policy, {"model": f"hosted_vllm/{name}", "api_base": cfg.api_base,
                                       **cfg.policy_options}, name
        return cfg.local_policy, {"model": model, **cfg.policy_options}, None

    def sampling_done(self, i: int) -> bool:
        """Whether every task × sample of iteration ``i`` already has a row (infra errors included)."""
        from ..orchestration import RunDir

        path = self.rollouts_dir(i)
        if not (path / "manifest.json").is_file():
            return False
        wanted = {(t.instance_id, k) for t in self.tasks for k in range(self.config.samples)}
        return wanted <= RunDir(path).done_keys()

    def sample(self, i: int, model: str) -> dict[str, Any]:
        """Roll out every task ``samples`` times with this iteration's policy and grade each patch."""
        from ..orchestration import RunConfig, RunDir
        from ..orchestration.config import shared_settings
        from ..orchestration.engine import run_summary

        cfg = self.config
        policy, options, served = self.policy_for(i, model)
        shown = options.get("model") or options.get("path") or options.get("trajectory") or policy
        info = {"policy": policy, "model": str(shown), "run_dir": str(self.rollouts_dir(i))}
        marker = self.iter_dir(i) / SAMPLE_FILE
        if self.sampling_done(i):
            self.log(f"  sample: {self.rollouts_dir(i)} is complete, skipping")
            seconds = json.loads(marker.read_text(encoding="utf-8")).get("seconds") if marker.is_file() else None
            return info | run_summary(RunDir(self.rollouts_dir(i))) | {"seconds": seconds}
        self.log(f"  sample: {len(self.tasks)} task(s) × {cfg.samples} with policy {policy} "
                 f"({info['model']}) → {self.rollouts_dir(i)}")
        run_config = RunConfig(**{**shared_settings(cfg), "seed": cfg.seed + i}, scaffold=cfg.scaffold,
                               scaffold_options=dict(cfg.scaffold_options), policy=policy, policy_options=options,
                               evaluate=True)

        def go() -> dict[str, Any]:
            return self.run_rollouts(i, run_config)

        t0 = time.perf_counter()
        if served is None:
            summary = go()
        else:
            from .serve import ModelServer

            assert cfg.serve_cmd and cfg.api_base
            with ModelServer(cfg.serve_cmd, model=model, name=served, api_base=cfg.api_base,
                             log_path=self.iter_dir(i) / "serve.log", timeout=cfg.serve_timeout,
                             log=lambda m: self.log("  " + m)):
                summary = go()
        seconds = round(time.perf_counter() - t0, 2)
        write_json_atomic(marker, {"seconds": seconds, "policy": policy, "model": info["model"]})
        self.log(f"  evaluate: {summary['resolved']}/{summary['rollouts']} resolved "
                 f"(rate {summary['resolve_rate']:.1%}, infrastructure errors {summary['infrastructure_errors']})")
        return info | summary | {"seconds": seconds}

    def run_rollouts(self, i: int, run_config: Any) -> dict[str, Any]:
        """Execute iteration ``i``'s rollouts into its run directory (resumes a partial one)."""
        from ..orchestration import run

        cfg = self.config
        return run(run_config, self.tasks, self.rollouts_dir(i), executor=cfg.executor,
                   executor_options=dict(cfg.executor_options), dataset=self.dataset, progress=self.progress)

    # -- stage 3: export -------------------------------------------------------------------------
    def export(self, i: int) -> dict[str, Any]:
        """Write every resolved trajectory so far (seed runs + iterations 0..i) as SFT data."""
        from ..export.sft import export_sft

        sft, marker = self.iter_dir(i) / "sft.jsonl", self.iter_dir(i) / EXPORT_FILE
        if marker.is_file() and sft.is_file():
            self.log(f"  export: {sft} exists, skipping")
            return json.loads(marker.read_text(encoding="utf-8"))
        t0 = time.perf_counter()
        pool = self.pool(i)
        stats = export_sft(pool, sft, format=self.config.format, max_per_task=self.config.max_per_task).to_dict()
        stats["pool"] = pool
        stats["format"] = self.config.format
        stats["seconds"] = round(time.perf_counter() - t0, 2)
        write_json_atomic(marker, stats)
        self.log(f"  export: {stats['written']} resolved sample(s) from {stats['tasks']} task(s) in "
                 f"{len(pool)} run(s) → {sft}")
        return stats

    # -- stage 4: train --------------------------------------------------------------------------
    def trainer(self) -> Any:
        if self._trainer is None:
            from ..plugins import create

            self._trainer = create("trainer", self.config.trainer)
        return self._trainer

    def train(self, i: int, start: str, skip_reason: str | None = None) -> dict[str, Any]:
        """Train ``start`` on this iteration's SFT file into ``checkpoint/``; skip when nothing to learn."""
        folder = self.iter_dir(i)
        marker, final, part = folder / TRAIN_FILE, folder / "checkpoint", folder / "checkpoint.part"
        if marker.is_file():
            done = json.loads(marker.read_text(encoding="utf-8"))
            self.log(f"  train: {done['training']}{' → ' + done['checkpoint'] if done.get('checkpoint') else ''} "
                     "(already done, skipping)")
            return done
        samples = json.loads((folder / EXPORT_FILE).read_text(encoding="utf-8"))["written"]
        if skip_reason is None and samples == 0:
            skip_reason = ("nothing resolved yet in the pool (seed runs + iterations so far); the next iteration "
                           "samples the same model again. Add a --seed-run with resolved trajectories to bootstrap")
        if skip_reason:
            self.log(f"  train: skipped: {skip_reason}")
            result: dict[str, Any] = {"training": "skipped", "reason": skip_reason, "checkpoint": None}
            if samples == 0:
                write_json_atomic(marker, result)  # deterministic given the pool: remember it
            return result
        t0 = time.perf_counter()
        if final.is_dir():  # a crash after the rename but before train.json
            checkpoint = final
        else:
            if part.exists():
                shutil.rmtree(part)  # a killed training run's leftovers
            self.log(f"  train: {self.config.trainer} on {samples} sample(s) from {start} → {final}")
            out = Path(self.trainer().train(start, folder / "sft.jsonl", part, dict(self.config.train_config)))
            os.replace(part, final)
            try:
                checkpoint = final / out.resolve().relative_to(part.resolve())
            except ValueError:  # the trainer wrote elsewhere
                checkpoint = out
        result = {"training": "done", "checkpoint": str(checkpoint), "trained_from": start, "samples": samples,
                  "seconds": round(time.perf_counter() - t0, 2)}
        write_json_atomic(marker, result)
        self.log(f"  train: checkpoint {checkpoint}; the next iteration samples with it")
        return result


def run_rft(config: RFTConfig, tasks: Sequence[Task], **options: Any) -> dict[str, Any]:
    """Run (or resume) the RFT loop; see :class:`RFTLoop` for options."""
    return RFTLoop(config, tasks, **options).run()
