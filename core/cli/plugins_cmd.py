"""``swegym plugins``: what is installed, by kind, with its providing package."""
from __future__ import annotations

import json

import click

from ..plugins import get_registry


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def plugins_cmd(as_json: bool) -> None:
    """List every installed component: name, kind, providing package and version.

    \b
    Examples:
      swegym plugins
      swegym plugins --json | jq '.[] | select(.kind == "policy")'
    """
    registry = get_registry()
    rows = registry.rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    widths = {k: max([len(k)] + [len(r[k]) for r in rows]) for k in ("kind", "name", "package", "version")}
    header = "  ".join(k.upper().ljust(widths[k]) for k in widths)
    click.echo(header)
    for r in rows:
        click.echo("  ".join(r[k].ljust(widths[k]) for k in widths))
    for plugin, why in registry.failed.items():
        click.echo(f"(skipped broken plugin {plugin}: {why})", err=True)
