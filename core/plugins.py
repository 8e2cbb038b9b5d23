"""Loading plugins and looking up what they registered.

Every plugin, built-in or third-party, enters through the ``swegym`` entry-point group. A plugin
that fails to import or to register is reported with a warning naming it and skipped: one broken
package must not take the tool down.
"""
from __future__ import annotations

import importlib.metadata as md
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import SwegymError

ENTRY_POINT_GROUP = "swegym"
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
    """One named implementation a plugin registered."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    package: str
    version: str
    description: str = ""


class Registry:
    """All plugins' components, by kind and name."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("swegym")
        self.pm.add_hookspecs(hookspecs)
        self.components: dict[tuple[str, str], Component] = {}
        self.failed: dict[str, str] = {}
        self._dists: dict[str, tuple[str, str]] = {}

    # -- loading -----------------------------------------------------------
    def load_entry_points(self) -> None:
        for ep in md.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            package = dist.metadata["Name"] if dist else "?"
            version = dist.version if dist else "?"
            try:
                module = ep.load()
            except Exception as exc:  # a broken third-party plugin must not crash swegym
                self._fail(ep.name, package, exc)
                continue
            self.add_plugin(module, ep.name, package, version)

    def add_plugin(self, module: Any, name: str, package: str = "?", version: str = "?") -> None:
        """Register a plugin object (module or instance with hookimpls) under ``name``."""
        if self.pm.has_plugin(name):
            return
        try:
            self.pm.register(module, name=name)
        except Exception as exc:
            self._fail(name, package, exc)
            return
        self._dists[name] = (package, version)
        for kind, hook_name in _HOOK_FOR_KIND.items():
            impls = getattr(module, hook_name, None)
            if impls is None:
                continue
            try:
                impls(register=self._registrar(kind, name))
            except Exception as exc:
                self._fail(name, package, exc)

    def _registrar(self, kind: str, plugin: str) -> Callable[..., None]:
        package, version = self._dists.get(plugin, ("?", "?"))

        def register(name: str, factory: Callable[..., Any], description: str = "") -> None:
            desc = description or (getattr(factory, "__doc__", "") or "").strip().splitlines()[0:1]
            if isinstance(desc, list):
                desc = desc[0] if desc else ""
            self.components[(kind, name)] = Component(kind, name, factory, plugin, package, version, desc)

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
            raise SwegymError(
                f"no {kind} named {name!r}. Available {kind}s: {known}. "
                f"Run `swegym plugins` to see what is installed."
            ) from None

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
    """The process-wide registry, loaded from entry points on first use."""
    global _registry
    with _lock:
        if _registry is None or reload:
            registry = Registry()
            registry.load_entry_points()
            _registry = registry
        return _registry


def create(kind: str, name: str, **options: Any) -> Any:
    """Shortcut: ``swegym.create("policy", "replay", path=...)``."""
    return get_registry().create(kind, name, **options)


def _print_failures() -> None:  # pragma: no cover - used by CLI
    for plugin, why in get_registry().failed.items():
        print(f"warning: plugin {plugin} skipped: {why}", file=sys.stderr)
