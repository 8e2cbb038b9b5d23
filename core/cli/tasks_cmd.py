"""``swegym tasks``: load, validate and list tasks from a file, a hub name or a named set."""
from __future__ import annotations

import json

import click

from ..tasks import load_tasks
from .options import dataset_options


@click.command("tasks")
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print the full task rows as a JSON list.")
def tasks_cmd(dataset: str, split: str | None, instance_ids: tuple[str, ...], repo: tuple[str, ...],
              limit: int | None, as_json: bool) -> None:
    """Load and validate tasks; print a table or JSON. Malformed rows exit 2 naming row and field.

    \b
    Examples:
      swegym tasks -d demo
      swegym tasks -d ../shared/data/swe-bench-lite-sample.jsonl --json
      swegym tasks -d SWE-Gym/SWE-Gym-Lite --repo getmoto/moto --limit 5
    """
    tasks = load_tasks(dataset, split=split, instance_ids=instance_ids or None, repo=repo or None, limit=limit)
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in tasks], indent=2))
        return
    for t in tasks:
        click.echo(f"{t.instance_id:<45} {t.repo:<30} {t.base_commit[:10]}  F2P={len(t.FAIL_TO_PASS)} P2P={len(t.PASS_TO_PASS)}")
    click.echo(f"{len(tasks)} task(s)", err=True)
