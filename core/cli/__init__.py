"""The ``swegym`` command line: one click group; plugins add commands through a hook.

Configuration, lowest to highest precedence: a config file (``--config FILE`` or
``SWEGYM_CONFIG``; YAML/TOML/JSON with one section per command), ``SWEGYM_<COMMAND>_<OPTION>``
environment variables, then flags.
"""
from __future__ import annotations

import sys
import warnings

import click

from ..config import load_config_file
from ..errors import SwegymError
from ..plugins import PluginWarning, get_registry
from .export_cmd import export_group
from .eval_cmd import eval_cmd, validate_cmd
from .plugins_cmd import plugins_cmd
from .report_cmd import report_cmd
from .rft_cmd import rft_cmd
from .run_cmd import run_cmd
from .score_cmd import score_cmd
from .tasks_cmd import tasks_cmd
from .train_cmd import train_cmd

CONTEXT = {"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SWEGYM", "max_content_width": 100}


class SwegymGroup(click.Group):
    """A group that turns SwegymError into a clean message and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SwegymError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=SwegymGroup, context_settings=CONTEXT)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="SWEGYM_CONFIG",
              help="Config file (YAML, TOML or JSON) with one section per command.")
@click.version_option(package_name="swegym")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """swegym: train software-engineering agents and verifiers on real GitHub tasks.

    \b
    Examples:
      swegym tasks -d demo
      swegym plugins --json
      swegym run --scaffold moatless            # the demo tasks with a small local model
    """
    if config_file:
        ctx.default_map = load_config_file(config_file)


cli.add_command(plugins_cmd)
cli.add_command(tasks_cmd)
cli.add_command(score_cmd)
cli.add_command(report_cmd)
cli.add_command(train_cmd)
cli.add_command(run_cmd)
cli.add_command(eval_cmd)
cli.add_command(validate_cmd)
cli.add_command(export_group)
cli.add_command(rft_cmd)


def _add_plugin_commands() -> None:
    """Let every plugin add its commands; a plugin whose hook fails is named and skipped."""
    registry = get_registry()
    for impl in registry.pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not take the CLI down
            warnings.warn(f"swegym plugin {impl.plugin_name!r} could not add its commands: "
                          f"{type(exc).__name__}: {exc}", PluginWarning, stacklevel=2)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``swegym`` script."""
    warnings.simplefilter("default", PluginWarning)
    warnings.formatwarning = lambda message, category, *a, **k: f"warning: {message}\n"  # type: ignore[assignment]
    try:
        _add_plugin_commands()
    except SwegymError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    cli.main(args=argv, prog_name="swegym")


__all__ = ["cli", "main"]
