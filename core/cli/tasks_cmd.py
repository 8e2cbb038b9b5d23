"""``swegym tasks``: load, validate and list tasks from a file, a hub name or a named set."""
from __future__ import annotations

import json

import click

from ..tasks import load_tasks
from .mine_cmd import mine_cmd
from .options import dataset_options


@click.group("tasks", invoke_without_command=True)
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print the full task rows as a JSON list.")
@click.pass_context
def tasks_cmd(ctx: click.Context, dataset: str, split: str | None, instance_ids: tuple[str, ...], repo: tuple[str, ...],
              limit: int | None, as_json: bool) -> None:
    """Load and validate tasks; print a table or JSON. Malformed rows exit 2 naming row and field.

    \b
    Examples:
      swegym tasks -d demo
      swegym tasks -d ../shared/data/swe-bench-lite-sample.jsonl --json
      swegym tasks -d SWE-Gym/SWE-Gym-Lite --repo getmoto/moto --limit 5
      swegym tasks mine --repo getmoto/moto --repo-source getmoto/moto=../moto.git --limit 20
    """
    if ctx.invoked_subcommand is not None:
        return
    tasks = load_tasks(dataset, split=split, instance_ids=instance_ids or None, repo=repo or None, limit=limit)
    if as_json:
        click.echo(json.dumps([t.to_dict() for t in tasks], indent=2))
        return
    for t in tasks:
        click.echo(f"{t.instance_id:<45} {t.repo:<30} {t.base_commit[:10]}  F2P={len(t.FAIL_TO_PASS)} P2P={len(t.PASS_TO_PASS)}")
    click.echo(f"{len(tasks)} task(s)", err=True)


tasks_cmd.add_command(mine_cmd)
