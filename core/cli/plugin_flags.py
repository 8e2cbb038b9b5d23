"""Flags that plugins add to commands (the ``add_cli_options`` hook), as ``pytest_addoption`` does.

Core names no plugin: a command says which component kinds it creates (``runtime``, ``policy``…,
through :func:`uses`), and every flag a plugin adds for a kind appears on every such command.
The value of a flag goes to the options of the one component it belongs to, and only when that
component is the one the command uses: ``--docker-host`` feeds the docker runtime; given with
another runtime it is an error, not silently dropped. A flag may also *select* its component
when the user named none (``--replay-file`` picks the replay policy).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import click

from ..errors import SwegymError

_META = "swegym.plugin_options"


@dataclass
class PluginFlag:
    """One flag: the click option and where its value goes."""

    option: click.Option
    kind: str
    component: str
    key: str
    selects: bool = False
    convert: Callable[[Any], Any] | None = None
    plugin: str = "?"


@dataclass
class FlagGroup:
    """What the ``add_cli_options`` hook receives: ``group.add("--docker-host", kind="runtime",
    component="docker", key="base_url", help=...)``; the remaining keywords go to ``click.Option``."""

    flags: list[PluginFlag] = field(default_factory=list)
    plugin: str = "?"

    def add(self, *decls: str, kind: str, component: str, key: str | None = None, selects: bool = False,
            convert: Callable[[Any], Any] | None = None, **click_kwargs: Any) -> None:
        click_kwargs.setdefault("default", None)
        option = click.Option(list(decls), **click_kwargs)
        self.flags.append(PluginFlag(option, kind, component, key or option.name or "", selects, convert,
                                     self.plugin))


def uses(*kinds: str) -> Callable[[Callable], Callable]:
    """Mark a command's callback as creating components of ``kinds`` (plugin flags attach to it)."""

    def mark(fn: Callable) -> Callable:
        fn.swegym_kinds = tuple(dict.fromkeys((*getattr(fn, "swegym_kinds", ()), *kinds)))  # type: ignore[attr-defined]
        return fn

    return mark


def collect_flags() -> list[PluginFlag]:
    """Every plugin's flags (a plugin whose hook fails is named and skipped)."""
    from ..plugins import get_registry

    registry = get_registry()
    flags: list[PluginFlag] = []
    for name in [n for n, _ in registry.pm.list_name_plugin()]:
        group = FlagGroup(plugin=name)
        try:
            registry.call_plugin(name, "add_cli_options", group=group)
        except Exception as exc:  # noqa: BLE001
            import warnings

            from ..plugins import PluginWarning

            warnings.warn(f"swegym plugin {name!r} failed in add_cli_options: {type(exc).__name__}: {exc}",
                          PluginWarning, stacklevel=2)
            continue
        flags.extend(group.flags)
    return flags


def _walk(cmd: click.Command):
    yield cmd
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            yield from _walk(sub)


def attach_plugin_flags(root: click.Command) -> None:
    """Add the plugins' flags to every command that uses their kind (idempotent)."""
    flags = collect_flags()
    for cmd in _walk(root):
        kinds = getattr(cmd.callback, "swegym_kinds", ()) if cmd.callback else ()
        if not kinds:
            continue
        table: dict[str, PluginFlag] = getattr(cmd, "swegym_plugin_flags", None) or {}
        taken = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
        for flag in flags:
            if flag.kind not in kinds or flag.option.name in table:
                continue
            clash = [o for o in (*flag.option.opts, *flag.option.secondary_opts) if o in taken]
            if clash:
                continue  # the command (or an earlier plugin) owns this spelling already
            cmd.params.append(flag.option)
            table[flag.option.name] = flag
            taken.update((*flag.option.opts, *flag.option.secondary_opts))
        if not getattr(cmd, "swegym_plugin_flags", None):
            cmd.callback = _popping(cmd.callback, table)
        cmd.swegym_plugin_flags = table  # type: ignore[attr-defined]


def _popping(callback: Callable, table: dict[str, PluginFlag]) -> Callable:
    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given: list[tuple[PluginFlag, Any, bool]] = []
        for name in list(kwargs):
            if name in table:
                value = kwargs.pop(name)
                if value is not None and value != ():
                    flag = table[name]
                    typed = ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
                    given.append((flag, flag.convert(value) if flag.convert else value, typed))
        ctx.meta[_META] = given
        return callback(*args, **kwargs)

    return wrapper


def given_flags() -> list[tuple[PluginFlag, Any, bool]]:
    """(flag, value, typed on the command line) for every plugin flag with a value."""
    ctx = click.get_current_context(silent=True)
    return list(ctx.meta.get(_META, [])) if ctx else []


def selected(kind: str, name: str | None) -> str | None:
    """``name`` if given, else the component a given plugin flag selects (``--replay-file`` → replay)."""
    if name:
        return name
    picks = {f.component for f, _, typed in given_flags() if f.kind == kind and f.selects and typed}
    if len(picks) > 1:
        raise SwegymError(f"flags of several {kind}s were given ({', '.join(sorted(picks))}); pass --{kind} NAME")
    return next(iter(picks), None)


def plugin_options(kind: str, name: str) -> dict[str, Any]:
    """The options the given plugin flags set for the ``kind`` called ``name``; a flag of another
    component of that kind is an error (exit 2) naming the flag and its component."""
    out: dict[str, Any] = {}
    for flag, value, typed in given_flags():
        if flag.kind != kind:
            continue
        if flag.component != name:
            if not typed:
                continue  # from an environment variable or a config file: meant for another run
            raise SwegymError(f"{flag.option.opts[0]} is an option of {kind} {flag.component!r}, "
                              f"but this command uses {kind} {name!r}")
        out[flag.key] = value
    return out


__all__ = ["FlagGroup", "PluginFlag", "attach_plugin_flags", "plugin_options", "selected", "uses"]
