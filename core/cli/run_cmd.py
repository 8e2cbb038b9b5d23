"""``swegym run``: roll out a scaffold + policy on tasks, k samples each, evaluate, report."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from ..errors import SwegymError
from ..tasks import load_tasks
from .options import (dataset_options, max_steps_option, parse_options, runtime_flags, runtime_options_from_flags,
                      step_and_grading_options)
from .plugin_flags import uses

def choose_policy(policy: str | None, model: str | None) -> str:
    """``--policy`` wins; else a plugin flag that selects one (``--replay-file``, ``--api-base``);
    else the plugins' ``default_policy`` answer for ``--model``."""
    from ..plugins import get_registry
    from .plugin_flags import selected

    name = selected("policy", policy) or get_registry().pm.hook.default_policy(model=model)
    if not name:
        raise SwegymError("no policy chosen: pass --policy NAME (see `swegym plugins`)")
    return name


def component_settings(kind: str, name: str, shared: dict[str, Any], pairs: tuple[str, ...], flag: str,
                       base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A component's options: the shared settings it declares, its plugin's flags, then ``--X-opt``
    pairs; unknown keys refused now (exit 2), naming the key and the valid ones."""
    from ..options import shared_options
    from .options import check_options
    from .plugin_flags import plugin_options

    options = {**(base or {}), **shared_options(kind, name, shared), **plugin_options(kind, name),
               **parse_options(pairs, flag)}
    check_options(kind, name, options)
    return options


@click.command("run")
@click.option("--scaffold", default="moatless", show_default=True, help="Agent scaffold (see `swegym plugins`).")
@click.option("--policy", default=None, help="Policy plugin (default: chosen from --model and the flags given).")
@click.option("--model", default=None, help="Model name (e.g. openai/gpt-4o, hosted_vllm/Qwen2.5-32B) or a local HF dir / .gguf file. Default: the bundled SmolLM2-135M.")
@click.option("--function-calling", type=click.Choice(["auto", "native", "text"]), default="auto", show_default=True,
              help="Tool calls native, written in the text, or native when the policy supports it; "
                   "for the scaffold and the policy that take it.")
@dataset_options
@click.option("--run-dir", type=click.Path(file_okay=False), default=None, help="Output folder (default runs/<time>-<scaffold>). Re-running resumes.")
@click.option("--samples", "-k", type=click.IntRange(min=1), default=1, show_default=True, help="Rollouts per task.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--first-greedy/--no-first-greedy", default=True, show_default=True, help="With k > 1, sample 0 at temperature 0 (as the paper).")
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=None, help="Max tokens per model reply.")
@click.option("--seed", type=int, default=0, show_default=True)
@max_steps_option
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, help="Concurrent rollouts.")
@click.option("--executor", default=None, help="Executor plugin (default local, or the one a given flag selects).")
@click.option("--executor-opt", multiple=True, help="KEY=VALUE passed to the executor (repeatable).")
@click.option("--eval/--no-eval", "evaluate", default=True, show_default=True, help="Grade every patch with the harness.")
@click.option("--strict-grading", is_flag=True,
              help="Grade patches that touch test infrastructure (conftest.py, sitecustomize, pytest settings) "
                   "outside the task's test files as unresolved. Off by default, as in SWE-bench.")
@step_and_grading_options
@click.option("--rollout-timeout", type=float, default=7200, show_default=True,
              help="Seconds one rollout's agent may take in all, model calls included (0: no limit).")
@click.option("--retry-budget", type=click.IntRange(min=0), default=30, show_default=True,
              help="Attempts one rollout may spend in all, over every retrying layer (model calls, rollout and "
                   "evaluation retries), so nested retries do not multiply (0: no shared cap).")
@click.option("--retry-errors", is_flag=True, help="On resume, redo rollouts that ended in infrastructure errors.")
@click.option("--scaffold-opt", multiple=True, help="KEY=VALUE passed to the scaffold (repeatable).")
@click.option("--policy-opt", multiple=True, help="KEY=VALUE passed to the policy (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@runtime_flags
@uses("policy", "scaffold", "executor")
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
    from ..plugins import get_registry
    from .plugin_flags import selected

    # Names and options are checked before tasks, models or the run directory are touched.
    scaffold = opts["scaffold"]
    policy = choose_policy(opts["policy"], opts["model"])
    executor = selected("executor", opts["executor"]) or "local"
    get_registry().check(scaffold=scaffold, policy=policy, executor=executor)
    shared = {"max_steps": opts["max_steps"], "function_calling": opts["function_calling"]}
    policy_options = component_settings("policy", policy, shared, opts["policy_opt"], "--policy-opt",
                                        base={"model": opts["model"]} if opts["model"] else None)
    scaffold_options = component_settings("scaffold", scaffold, shared, opts["scaffold_opt"], "--scaffold-opt")
    executor_options = component_settings("executor", executor, {"workers": opts["workers"]}, opts["executor_opt"],
                                          "--executor-opt")
    runtime_options = runtime_options_from_flags(opts)
    tasks = load_tasks(opts["dataset"], split=opts["split"], instance_ids=opts["instance_ids"] or None,
                       repo=opts["repo"] or None, limit=opts["limit"])
    if not tasks:
        raise SwegymError("no tasks matched; check -d/--instance-id/--repo/--limit (try `swegym tasks -d ...`)")
    max_tokens = opts["max_tokens"]
    if max_tokens is None:
        defaults = get_registry().pm.hook.sampling_defaults(policy=policy) or {}
        if defaults.get("max_tokens"):
            max_tokens = defaults["max_tokens"]
            click.echo(f"note: policy {policy} replies are capped at {max_tokens} tokens (--max-tokens to change)",
                       err=True)
    config = RunConfig(
        scaffold=scaffold, scaffold_options=scaffold_options, policy=policy, policy_options=policy_options,
        runtime=opts["runtime"], runtime_options=runtime_options, samples=opts["samples"],
        temperature=opts["temperature"], first_greedy=opts["first_greedy"], top_p=opts["top_p"],
        max_tokens=max_tokens, seed=opts["seed"], evaluate=opts["evaluate"],
        eval_timeout=opts["eval_timeout"], network=opts["network"], infra_retries=opts["infra_retries"],
        rollout_timeout=opts["rollout_timeout"] or None, strict_grading=opts["strict_grading"],
        retry_budget=opts["retry_budget"] or None,
    )
    run_dir = opts["run_dir"] or str(Path("runs") / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{scaffold}")
    click.echo(f"swegym run: {len(tasks)} task(s) × {opts['samples']} sample(s), scaffold {scaffold}, "
               f"policy {policy}{' ' + opts['model'] if opts['model'] else ''} → {run_dir}", err=True)
    summary = run(config, tasks, run_dir, executor=executor, executor_options=executor_options,
                  dataset=opts["dataset"], progress=not opts["no_progress"], retry_errors=opts["retry_errors"])
    click.echo(json.dumps(summary, indent=2))
    click.echo(f"trajectories: {Path(run_dir) / 'trajectories.jsonl'}\nreport:       {Path(run_dir) / 'report.json'}",
               err=True)
