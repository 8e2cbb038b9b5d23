"""``swegym train``: supervised fine-tuning of a policy or verifier on chat JSONL."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import SwegymError
from ..hub import resolve_model


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise SwegymError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SwegymError(f"{path}: a training config must be a mapping of setting: value")
    # A config may name the trainer/model/data too; flags win over it.
    return data


@click.command("train")
@click.option("--trainer", default=None, help="Trainer name: torchtune-full or torchtune-lora (default: from --config, else torchtune-full).")
@click.option("--model", "model", default=None, type=click.Path(), help="Model to start from: a Hugging Face model directory or a hub name org/name[@revision] "
                   "(from the hub cache, also offline; downloaded when the hub is reachable).")
@click.option("--data", default=None, type=click.Path(), help="JSONL, one {\"messages\": [...]} conversation per line.")
@click.option("-o", "--output", "output", default=None, type=click.Path(), help="Output directory (HF model; LoRA adds adapter/).")
@click.option("--config", "train_config", default=None, type=click.Path(dir_okay=False),
              help="Training YAML (see examples/configs/); flags override it.")
@click.option("--epochs", type=int, default=None, help="Passes over the data.")
@click.option("--lr", type=float, default=None, help="Peak learning rate.")
@click.option("--batch-size", type=int, default=None, help="Packed rows per device per micro-step.")
@click.option("--grad-accum", type=int, default=None, help="Micro-steps per optimizer step.")
@click.option("--max-seq-len", type=int, default=None, help="Row length for packing and truncation.")
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimizer steps.")
@click.option("--packing/--no-packing", default=None, help="Pack several conversations per row (default on).")
@click.option("--lora-rank", type=int, default=None, help="LoRA rank r.")
@click.option("--lora-alpha", type=float, default=None, help="LoRA alpha.")
@click.option("--lora-dropout", type=float, default=None, help="LoRA dropout.")
@click.option("--lora-mlp/--no-lora-mlp", default=None, help="Also put LoRA on the MLP projections.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="Where to train.")
@click.option("--seed", type=int, default=None, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def train_cmd(trainer: str | None, model: str | None, data: str | None, output: str | None, train_config: str | None,
              as_json: bool, **flags: Any) -> None:
    """Fine-tune a model on chat conversations; loss per step goes to stderr and OUTPUT/metrics.jsonl.

    Only assistant turns (with their end-of-turn token) are trained, rendered with the model's own
    chat template. Multi-GPU: launch the same command under torchrun.

    \b
    Examples:
      swegym train --trainer torchtune-full --model Qwen/Qwen2.5-7B-Instruct --data sft.jsonl -o out/policy
      swegym train --trainer torchtune-lora --model ./Qwen2.5-32B-Instruct --data sft.jsonl -o out/lora \\
          --config examples/configs/moatless-32b-lora.yaml
      torchrun --nproc-per-node 8 $(which swegym) train --config examples/configs/openhands-policy-32b-full.yaml \\
          --model ./Qwen2.5-Coder-32B-Instruct --data sft.jsonl -o out/policy-32b
    """
    import swegym

    settings = _read_yaml(train_config) if train_config else {}
    trainer = trainer or settings.pop("trainer", None) or "torchtune-full"
    settings.pop("trainer", None)
    model = model or settings.pop("model", None)
    data = data or settings.pop("data", None)
    output = output or settings.pop("output", None)
    settings.pop("model", None), settings.pop("data", None), settings.pop("output", None)
    missing = [name for name, val in (("--model", model), ("--data", data), ("-o/--output", output)) if not val]
    if missing:
        raise SwegymError(f"swegym train needs {', '.join(missing)} (as flags or keys in --config)")
    settings.update({k: v for k, v in flags.items() if v is not None})
    impl = swegym.create("trainer", trainer)
    model = str(resolve_model(model, what="swegym train --model"))
    out = impl.train(model, data, output, settings)
    result = {"trainer": trainer, "output": str(out)}
    metrics = Path(out) / "metrics.jsonl"
    if metrics.exists():
        rows = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
        steps = [r for r in rows if "loss" in r]
        if steps:
            result.update(first_loss=steps[0]["loss"], last_loss=steps[-1]["loss"], steps=len(steps))
        end = [r for r in rows if r.get("event") == "end"]
        if end:
            result.update(tokens_per_s=end[-1]["tokens_per_s"], peak_rss_mb=end[-1]["peak_rss_mb"])
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"trained with {trainer}: {out}")
        if "steps" in result:
            click.echo(f"  {result['steps']} steps, loss {result['first_loss']:.4f} -> {result['last_loss']:.4f}")
