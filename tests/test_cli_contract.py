"""The contract between core and plugins: how plugins load, which hooks core calls, how the CLI
refuses bad input before any work, and that a third-party plugin brings its own flags."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import swegym
from swegym.plugins import BUILTIN_PLUGINS, Registry

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "examples" / "swegym-hello-plugin"


def swegym_cli(*args: str, env_extra: dict | None = None, cwd: Path | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "swegym.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def components(out: subprocess.CompletedProcess) -> set[tuple[str, str]]:
    assert out.returncode == 0, out.stderr
    return {(r["kind"], r["name"]) for r in json.loads(out.stdout)}


# -- loading ---------------------------------------------------------------------------------------
def test_builtins_load_without_entry_points():
    """A stale or partial install (no entry points at all) still has every built-in."""
    registry = Registry()
    registry.load_builtins()
    assert {name for name, _ in BUILTIN_PLUGINS} <= {n for n, _ in registry.pm.list_name_plugin()}
    assert {"docker"} <= set(registry.names("runtime")) and "local" in registry.names("executor")


def test_block_builtin_with_p_no():
    names = components(swegym_cli("-p", "no:ray", "plugins", "--json"))
    assert ("executor", "local") in names and ("executor", "ray") not in names


def test_p_loads_a_module_and_autoload_can_be_switched_off():
    env = {"PYTHONPATH": str(HELLO), "SWEGYM_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert ("policy", "echo") not in components(swegym_cli("plugins", "--json", env_extra=env))
    assert ("policy", "echo") in components(swegym_cli("-p", "swegym_hello", "plugins", "--json", env_extra=env))


def test_specname_and_tryfirst_hookimpls_are_called():
    calls: list[str] = []

    class Late:
        @swegym.hookimpl(specname="register_policies")
        def my_policies(self, register):
            calls.append("late")
            register("named-by-specname", object)

    class Early:
        @swegym.hookimpl(specname="register_policies", tryfirst=True)
        def first(self, register):
            calls.append("early")

    registry = Registry()
    registry.add_plugin(Late(), "late")
    registry.add_plugin(Early(), "early")
    assert "named-by-specname" in registry.names("policy")
    calls.clear()
    registry.call_each("register_policies", register=lambda *a, **k: None)
    assert calls == ["early", "late"]


def test_broken_hook_in_call_each_only_warns():
    class Broken:
        @swegym.hookimpl
        def register_commands(self, cli):
            raise RuntimeError("no commands today")

    registry = Registry()
    registry.add_plugin(Broken(), "broken")
    with pytest.warns(swegym.plugins.PluginWarning, match="broken.*no commands today"):
        registry.call_each("register_commands", cli=None)


def test_executors_implement_the_interface():
    from swegym.orchestration.executors import LocalExecutor
    from swegym_ray.executor import RayExecutor

    assert issubclass(LocalExecutor, swegym.Executor) and issubclass(RayExecutor, swegym.Executor)
