"""Loading plugins and looking up what they registered.

Plugins load the way pytest loads them: the built-in ones are a named tuple of modules imported
directly (:data:`BUILTIN_PLUGINS`), so a stale or partial install never loses them; entry points
in the ``swegym`` group are for third parties only. ``SWEGYM_DISABLE_PLUGIN_AUTOLOAD=1`` skips
those entry points; ``swegym -p NAME`` loads a module or entry point by name and ``-p no:NAME``
blocks one (both also read from ``SWEGYM_PLUGINS``, comma-separated, so worker processes see the
same set). Hooks are called through pluggy (``pm.hook.<name>`` or a subset caller per plugin), so
``@hookimpl(specname=...)``, ``tryfirst`` and wrappers work. A plugin that fails to import or to
register is reported with a warning naming it and skipped: one broken package must not take the
tool down.
"""
from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pluggy

from . import hookspecs
from .errors import SwegymError

ENTRY_POINT_GROUP = "swegym"
#: Plugins shipped with swegym: (name, module), imported directly, in this order.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("builtin", "swegym.builtin"),
    ("docker", "swegym_docker"),
    ("litellm", "swegym_litellm"),
    ("hf", "swegym_hf"),
    ("replay", "swegym_replay"),
    ("openhands", "swegym_openhands"),
    ("moatless", "swegym_moatless"),
    ("torchtune", "swegym_torchtune"),
    ("orm", "swegym_orm"),
    ("ray", "swegym_ray"),
)
DISABLE_AUTOLOAD_ENV = "SWEGYM_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "SWEGYM_PLUGINS"
KINDS = ("runtime", "policy", "scaffold", "verifier", "trainer", "executor", "dataset", "statement")
_HOOK_FOR_KIND = {
    "runtime": "register_runtimes",
    "policy": "register_policies",
    "scaffold": "register_scaffolds",
    "verifier": "register_verifiers",
    "trainer": "register_trainers",
    "executor": "register_executors",
    "dataset": "register_datasets",
    "statement": "register_statement_sources",
}


class PluginWarning(UserWarning):
    """A plugin could not be loaded or registered; swegym carries on without it."""


@dataclass(frozen=True)
class Component:
    """One named implementation a plugin registered.

    ``options`` is the component's typed options class (a :class:`swegym.options.Options`
    subclass) when the plugin registered one: core reads it to hand a component only the shared
    settings (``max_steps``, ``function_calling``…) it declares.
    """

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    package: str
    version: str
    description: str = ""
    options: type | None = None


def plugin_selection(env: dict[str, str] | None = None) -> tuple[list[str], set[str]]:
    """(names to load, names to block) from ``SWEGYM_PLUGINS`` ("hello,no:docker")."""
    raw = (env if env is not None else os.environ).get(PLUGINS_ENV, "")
    load, block = [], set()
    for item in filter(None, (p.strip() for p in raw.split(","))):
        if item.startswith("no:"):
            block.add(item[3:])
        else:
            load.append(item)
    return load, block


def _swegym_version() -> str:
    try:
        return md.version("swegym")
    except md.PackageNotFoundError:  # pragma: no cover - source tree without install
        return "?"


class Registry:
    """All plugins' components, by kind and name."""

    def __init__(self, *, load: Iterable[str] = (), block: Iterable[str] = ()) -> None:
        self.pm = pluggy.PluginManager("swegym")
        self.pm.add_hookspecs(hookspecs)
        self.components: dict[tuple[str, str], Component] = {}
        self.failed: dict[str, str] = {}
        self.blocked: set[str] = set(block)
        self.requested: list[str] = list(load)
        self._dists: dict[str, tuple[str, str]] = {}

    # -- loading -----------------------------------------------------------
    def load_all(self, *, autoload: bool | None = None) -> None:
        """Built-ins, then third-party entry points (unless autoload is off), then ``-p`` names."""
        if autoload is None:
            autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
        self.load_builtins()
        if autoload:
            self.load_entry_points()
        for name in self.requested:
            self.load_by_name(name)

    def load_builtins(self) -> None:
        version = _swegym_version()
        for name, module_name in BUILTIN_PLUGINS:
            if name in self.blocked:
                continue
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # noqa: BLE001 - a built-in with a broken dependency warns too
                self._fail(name, "swegym", exc)
                continue
            self.add_plugin(module, name, "swegym", version)

    def _entry_points(self) -> list[md.EntryPoint]:
        builtin_modules = {m for _, m in BUILTIN_PLUGINS}
        # An older install of swegym declared its built-ins as entry points: never load them twice.
        return [ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.value not in builtin_modules]

    def load_entry_points(self, only: str | None = None) -> bool:
        """Load third-party entry points (or just the one called ``only``); whether any matched."""
        found = False
        for ep in self._entry_points():
            if ep.name in self.blocked or (only is not None and ep.name != only):
                continue
            found = True
            dist = getattr(ep, "dist", None)
            package = dist.metadata["Name"] if dist else "?"
            version = dist.version if dist else "?"
            try:
                module = ep.load()
            except Exception as exc:  # a broken third-party plugin must not crash swegym
                self._fail(ep.name, package, exc)
                continue
            self.add_plugin(module, ep.name, package, version)
        return found

    def load_by_name(self, name: str) -> None:
        """``-p NAME``: an entry point of that name, else a module importable under that name."""
        if name in self.blocked or self.pm.has_plugin(name):
            return
        if self.load_entry_points(only=name):
            return
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            self._fail(name, "?", exc)
            return
        self.add_plugin(module, name)

    def add_plugin(self, module: Any, name: str, package: str = "?", version: str = "?") -> None:
        """Register a plugin object (module or instance with hookimpls) under ``name``."""
        if self.pm.has_plugin(name) or self.pm.is_registered(module) or name in self.blocked:
            return
        try:
            self.pm.register(module, name=name)
        except Exception as exc:
            self._fail(name, package, exc)
            return
        self._dists[name] = (package, version)
        for kind, hook_name in _HOOK_FOR_KIND.items():
            try:
                self.call_plugin(name, hook_name, register=self._registrar(kind, name))
            except Exception as exc:
                self._fail(name, package, exc)

    def call_plugin(self, name: str, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call hook ``hook_name`` of plugin ``name`` alone, through pluggy (specname, wrappers work)."""
        plugin = self.pm.get_plugin(name)
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
        if not caller.get_hookimpls():
            return []
        return caller(**kwargs)

    def call_each(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call ``hook_name`` of every plugin in pluggy's order; a plugin that raises is named and skipped."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        results: list[Any] = []
        for plugin_name in dict.fromkeys(impl.plugin_name for impl in reversed(impls)):
            try:
                results.extend(self.call_plugin(plugin_name, hook_name, **kwargs))
            except SwegymError:
                raise
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not take the CLI down
                warnings.warn(f"swegym plugin {plugin_name!r} failed in {hook_name}: {type(exc).__name__}: {exc}",
                              PluginWarning, stacklevel=2)
        return results

    def _registrar(self, kind: str, plugin: str) -> Callable[..., None]:
        package, version = self._dists.get(plugin, ("?", "?"))

        def register(name: str, factory: Callable[..., Any], description: str = "", *,
                     options: type | None = None) -> None:
            desc = description or next(iter((getattr(factory, "__doc__", "") or "").strip().splitlines()), "")
            opts = options or getattr(factory, "options_class", None)
            self.components[(kind, name)] = Component(kind, name, factory, plugin, package, version, desc, opts)

        return register

    def _fail(self, plugin: str, package: str, exc: BaseException) -> None:
        self.failed[plugin] = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"swegym plugin {plugin!r} (package {package}) failed to load and is skipped: "
            f"{type(exc).__name__}: {exc}",
            PluginWarning,
            stacklevel=3,
        )

    # -- lookup ------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(name for (k, name) in self.components if k == kind)

    def get(self, kind: str, name: str) -> Component:
        if kind not in KINDS:
            raise SwegymError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        try:
            return self.components[(kind, name)]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none installed"
            plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
            raise SwegymError(
                f"no {kind} named {name!r}. Available {plural}: {known}. "
                f"Run `swegym plugins` to see what is installed."
            ) from None

    def check(self, **names: str | None) -> None:
        """Refuse unknown names early (``check(scaffold="x", policy="y")``): exit 2 before any work."""
        for kind, name in names.items():
            if name is not None:
                self.get(kind, name)

    def create(self, kind: str, name: str, **options: Any) -> Any:
        """Instantiate the ``kind`` called ``name`` with ``options``."""
        return self.get(kind, name).factory(**options)

    def rows(self) -> list[dict[str, str]]:
        """What ``swegym plugins`` prints: one row per component."""
        return [
            {"name": c.name, "kind": c.kind, "plugin": c.plugin, "package": c.package, "version": c.version,
             "description": c.description}
            for c in sorted(self.components.values(), key=lambda c: (c.kind, c.name))
        ]


_registry: Registry | None = None
_lock = threading.Lock()


def get_registry(reload: bool = False) -> Registry:
    """The process-wide registry, loaded on first use (built-ins, entry points, ``SWEGYM_PLUGINS``)."""
    global _registry
    with _lock:
        if _registry is None or reload:
            load, block = plugin_selection()
            registry = Registry(load=load, block=block)
            registry.load_all()
            _registry = registry
        return _registry


def create(kind: str, name: str, **options: Any) -> Any:
    """Shortcut: ``swegym.create("policy", "replay", path=...)``."""
    return get_registry().create(kind, name, **options)


def _print_failures() -> None:  # pragma: no cover - used by CLI
    for plugin, why in get_registry().failed.items():
        print(f"warning: plugin {plugin} skipped: {why}", file=sys.stderr)
