"""``swegym run``: roll out a scaffold + policy on tasks, k samples each, evaluate, report."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from ..errors import SwegymError
from ..tasks import load_tasks
from .options import dataset_options, parse_options, runtime_flags, runtime_options_from_flags, step_limit_option

LOCAL_MODEL_MAX_TOKENS = 192


def choose_policy(policy: str | None, model: str | None, replay_file: str | None) -> str:
    """``--policy`` wins; else a replay file → replay, a local path → hf, a model name → litellm, nothing → hf."""
    if policy:
        return policy
    if replay_file:
        return "replay"
    if model is None or Path(model).expanduser().exists():
        return "hf"
    return "litellm"


@click.command("run")
@click.option("--scaffold", default="moatless", show_default=True, help="Agent scaffold: moatless, openhands, or a plugin's.")
@click.option("--policy", default=None, help="litellm | hf | replay | a plugin's (default: chosen from --model).")
@click.option("--model", default=None, help="litellm model name (e.g. openai/gpt-4o, hosted_vllm/Qwen2.5-32B) or a local HF dir / .gguf file. Default: the bundled SmolLM2-135M.")
@click.option("--api-base", default=None, help="OpenAI-compatible server URL (vLLM, SGLang).")
@click.option("--api-key", default=None, help="API key (better: the provider's env var). Never written anywhere.")
@click.option("--function-calling", type=click.Choice(["auto", "native", "text"]), default="auto", show_default=True)
@click.option("--replay-file", type=click.Path(exists=True, dir_okay=False), default=None, help="Trajectories to replay (policy replay).")
@dataset_options
@click.option("--run-dir", type=click.Path(file_okay=False), default=None, help="Output folder (default runs/<time>-<scaffold>). Re-running resumes.")
@click.option("--samples", "-k", type=click.IntRange(min=1), default=1, show_default=True, help="Rollouts per task.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--first-greedy/--no-first-greedy", default=True, show_default=True, help="With k > 1, sample 0 at temperature 0 (as the paper).")
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=None, help="Max tokens per model reply.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-iterations", type=int, default=None, help="Agent step limit (openhands iterations, moatless transitions).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Concurrent rollouts.")
@click.option("--executor", default="local", show_default=True, help="local | ray | a plugin's.")
@click.option("--processes", is_flag=True, help="local executor: processes instead of threads.")
@click.option("--ray-address", default=None, help="Ray cluster address (executor ray); default starts a local one.")
@click.option("--eval/--no-eval", "evaluate", default=True, show_default=True, help="Grade every patch with the harness.")
@click.option("--eval-timeout", type=float, default=1800, show_default=True, help="Seconds for the test command.")
@click.option("--infra-retries", type=click.IntRange(min=0), default=2, show_default=True, help="Retries (with backoff) of infrastructure failures per rollout.")
@click.option("--retry-errors", is_flag=True, help="On resume, redo rollouts that ended in infrastructure errors.")
@click.option("--scaffold-opt", multiple=True, help="KEY=VALUE passed to the scaffold (repeatable).")
@click.option("--policy-opt", multiple=True, help="KEY=VALUE passed to the policy (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@runtime_flags
def run_cmd(**opts: Any) -> None:
    """Roll out a scaffold driving a policy on tasks; evaluate every patch; write a run directory.

    The run directory holds trajectories.jsonl (one row per rollout), manifest.json, report.json
    and logs. Running the same command again resumes: only missing rollouts run.

    \b
    Examples:
      swegym run --scaffold moatless                     # demo tasks, small local model, offline
      swegym run --scaffold openhands --model openai/gpt-4o -d SWE-Gym/SWE-Gym-Lite -k 4 -w 8
      swegym run --scaffold openhands --model hosted_vllm/my-model --api-base http://localhost:8000/v1
      swegym run --scaffold openhands --replay-file trajectories.jsonl -d demo --run-dir runs/replay
    """
    from ..orchestration import RunConfig, run

    tasks = load_tasks(opts["dataset"], split=opts["split"], instance_ids=opts["instance_ids"] or None,
                       repo=opts["repo"] or None, limit=opts["limit"])
    if not tasks:
        raise SwegymError("no tasks matched; check -d/--instance-id/--repo/--limit (try `swegym tasks -d ...`)")
    scaffold = opts["scaffold"]
    policy = choose_policy(opts["policy"], opts["model"], opts["replay_file"])
    policy_options: dict[str, Any] = {}
    if opts["model"]:
        policy_options["model"] = opts["model"]
    if policy == "litellm":
        for key in ("api_base", "api_key"):
            if opts[key]:
                policy_options[key] = opts[key]
        policy_options["function_calling"] = opts["function_calling"]
    if policy == "replay":
        if not opts["replay_file"]:
            raise SwegymError("--policy replay needs --replay-file FILE")
        policy_options["path"] = opts["replay_file"]
    policy_options.update(parse_options(opts["policy_opt"], "--policy-opt"))
    scaffold_options: dict[str, Any] = {}
    if scaffold == "openhands":
        scaffold_options["function_calling"] = opts["function_calling"]
    scaffold_options.update(step_limit_option(scaffold, opts["max_iterations"]))
    scaffold_options.update(parse_options(opts["scaffold_opt"], "--scaffold-opt"))
    runtime_options = runtime_options_from_flags(opts)
    max_tokens = opts["max_tokens"]
    if policy == "hf" and max_tokens is None:
        # A small model on a CPU writes ~5-10 tokens/s and rarely stops on its own: cap replies so
        # the offline demo finishes in minutes. Structured actions fit easily.
        max_tokens = LOCAL_MODEL_MAX_TOKENS
        click.echo(f"note: local model replies are capped at {max_tokens} tokens (--max-tokens to change)", err=True)
    config = RunConfig(
        scaffold=scaffold, scaffold_options=scaffold_options, policy=policy, policy_options=policy_options,
        runtime=opts["runtime"], runtime_options=runtime_options, samples=opts["samples"],
        temperature=opts["temperature"], first_greedy=opts["first_greedy"], top_p=opts["top_p"],
        max_tokens=max_tokens, seed=opts["seed"], evaluate=opts["evaluate"],
        eval_timeout=opts["eval_timeout"], network=opts["network"], infra_retries=opts["infra_retries"],
    )
    run_dir = opts["run_dir"] or str(Path("runs") / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{scaffold}")
    executor_options: dict[str, Any] = {"workers": opts["workers"]}
    if opts["executor"] == "local" and opts["processes"]:
        executor_options["mode"] = "processes"
    if opts["executor"] == "ray" and opts["ray_address"]:
        executor_options["address"] = opts["ray_address"]
    click.echo(f"swegym run: {len(tasks)} task(s) × {opts['samples']} sample(s), scaffold {scaffold}, "
               f"policy {policy}{' ' + opts['model'] if opts['model'] else ''} → {run_dir}", err=True)
    summary = run(config, tasks, run_dir, executor=opts["executor"], executor_options=executor_options,
                  dataset=opts["dataset"], progress=not opts["no_progress"], retry_errors=opts["retry_errors"])
    click.echo(json.dumps(summary, indent=2))
    click.echo(f"trajectories: {Path(run_dir) / 'trajectories.jsonl'}\nreport:       {Path(run_dir) / 'report.json'}",
               err=True)
