"""Option bundles shared by several commands, so every command spells them the same way."""
from __future__ import annotations

from typing import Callable

import click


def dataset_options(fn: Callable) -> Callable:
    """``-d/--dataset``, ``--split``, ``--instance-id`` (repeatable), ``--repo`` and ``--limit``."""
    decorators = [
        click.option("-d", "--dataset", default="demo", show_default=True,
                     help="Task source: a .json/.jsonl/.parquet file, a Hugging Face name, or a named set such as 'demo'."),
        click.option("--split", default=None, help="Dataset split for Hugging Face names (default: train)."),
        click.option("--instance-id", "instance_ids", multiple=True, help="Only these instances (repeatable)."),
        click.option("--repo", multiple=True, help="Only tasks of this repository, owner/name or name (repeatable)."),
        click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many tasks."),
    ]
    for deco in reversed(decorators):
        fn = deco(fn)
    return fn
