"""The ``swegym`` command line: one click group; plugins add commands through a hook.

Configuration, lowest to highest precedence: a config file (``--config FILE`` or
``SWEGYM_CONFIG``; YAML/TOML/JSON with one section per command), ``SWEGYM_<COMMAND>_<OPTION>``
environment variables, then flags.
"""
from __future__ import annotations

import os
import sys
import warnings

import click

from ..config import load_config_file
from ..errors import InfrastructureError, SwegymError
from ..plugins import PLUGINS_ENV, PluginWarning, get_registry
from .export_cmd import export_group
from .eval_cmd import eval_cmd, validate_cmd
from .plugins_cmd import plugins_cmd
from .report_cmd import report_cmd
from .rft_cmd import rft_cmd
from .run_cmd import run_cmd
from .score_cmd import score_cmd
from .tasks_cmd import tasks_cmd
from .train_cmd import train_cmd

INFRASTRUCTURE_EXIT = 3
CONTEXT = {"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SWEGYM", "max_content_width": 100}


class SwegymGroup(click.Group):
    """A group that turns SwegymError into a clean message and exit code 2, and
    InfrastructureError (a daemon, a server, a cluster unreachable) into one line and exit code 3."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        """Load ``-p`` plugins and let plugins add commands and flags before click parses anything."""
        if ctx.parent is None:
            selected = plugin_args(list(args))
            if selected:
                os.environ[PLUGINS_ENV] = ",".join(filter(None, [os.environ.get(PLUGINS_ENV, ""), *selected]))
                get_registry(reload=True)
            _add_plugin_commands()
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SwegymError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except InfrastructureError as exc:
            message = " ".join(str(exc).split())
            click.echo(f"error: infrastructure: {message}", err=True)
            ctx.exit(INFRASTRUCTURE_EXIT)


@click.group(cls=SwegymGroup, context_settings=CONTEXT)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar="SWEGYM_CONFIG",
              help="Config file (YAML, TOML or JSON) with one section per command.")
@click.option("-p", "--plugin", "plugins", multiple=True, metavar="NAME",
              help="Load the plugin NAME (an entry point or an importable module); -p no:NAME blocks one, "
                   "built-ins included. SWEGYM_DISABLE_PLUGIN_AUTOLOAD=1 skips installed third-party plugins.")
@click.version_option(package_name="swegym")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, plugins: tuple[str, ...]) -> None:
    """swegym: train software-engineering agents and verifiers on real GitHub tasks.

    \b
    Examples:
      swegym tasks -d demo
      swegym plugins --json
      swegym run --scaffold moatless            # the demo tasks with a small local model
      swegym -p swegym_hello run --scaffold shell-once --policy echo
      swegym -p no:ray plugins
    """
    if config_file:
        ctx.default_map = load_config_file(config_file)
        check_config(ctx.default_map, cli, config_file)


def check_config(section: dict, group: click.Group, path: str, where: str = "") -> None:
    """Refuse a config key no command or option has (click would ignore it), naming it and the valid ones."""
    from ..errors import DataError

    own = {p.name for p in group.params if p.name} if where else set()
    for key, value in section.items():
        cmd = group.commands.get(key) or group.commands.get(key.replace("_", "-"))
        if cmd is None:
            if key in own:
                continue
            label = f"`swegym {where.strip('.').replace('.', ' ')}`" if where else "the config file"
            raise DataError(f"unknown command or option {key!r} in {label}; valid: "
                            f"{', '.join(sorted(set(group.commands) | own - {'help'}))}", path=path)
        if isinstance(cmd, click.Group):
            if isinstance(value, dict):
                check_config(value, cmd, path, f"{where}{key}.")
            continue
        names = {p.name for p in cmd.params if p.name}
        unknown = sorted(set(value or {}) - names) if isinstance(value, dict) else []
        if unknown:
            raise DataError(f"unknown option(s) {', '.join(unknown)} for `swegym {(where + key).replace('.', ' ')}`; "
                            f"valid: {', '.join(sorted(n for n in names if n != 'help'))}", path=path)


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


def plugin_args(argv: list[str]) -> list[str]:
    """The ``-p NAME`` values before the command name: plugins load before click parses anything,
    since they add commands and flags (as pytest reads ``-p`` early)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in ("-p", "--plugin") and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 2
            continue
        if tok.startswith("--plugin="):
            out.append(tok.split("=", 1)[1])
        elif tok.startswith("-p") and len(tok) > 2 and not tok.startswith("--"):
            out.append(tok[2:])
        elif tok == "--config":
            i += 1
        elif not tok.startswith("-"):
            break
        i += 1
    return out


def _add_plugin_commands() -> None:
    """Let every plugin add its commands; a plugin whose hook fails is named and skipped."""
    from .plugin_flags import attach_plugin_flags

    get_registry().call_each("register_commands", cli=cli)
    attach_plugin_flags(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``swegym`` script."""
    warnings.simplefilter("default", PluginWarning)
    warnings.formatwarning = lambda message, category, *a, **k: f"warning: {message}\n"  # type: ignore[assignment]
    args = list(sys.argv[1:] if argv is None else argv)
    cli.main(args=args, prog_name="swegym")


__all__ = ["cli", "main"]
