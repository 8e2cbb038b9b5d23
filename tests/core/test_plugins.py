"""The plugin system: built-ins and third parties enter the same way; broken plugins warn, never crash."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import swegym
from swegym.plugins import PluginWarning, Registry

ROOT = Path(__file__).resolve().parents[2]
SWEGYM = [sys.executable, "-m", "swegym.cli"]


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([*SWEGYM, *args], capture_output=True, text=True, env=env, timeout=120)


def test_builtin_plugins_listed_with_kind_and_package():
    out = run_cli("plugins", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    by_name = {(r["kind"], r["name"]): r for r in rows}
    assert ("dataset", "demo") in by_name
    assert all(r["package"] == "swegym" for r in rows if r["plugin"] in {"builtin", "docker", "replay"})
    for row in rows:
        assert set(row) >= {"name", "kind", "package", "version"}
        assert row["kind"] in swegym.plugins.KINDS


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The sample third-party package, pip-installed into its own target folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(ROOT / "examples" / "swegym-hello-plugin")],
        check=True, capture_output=True, text=True,
    )
    return target


def test_sample_third_party_plugin_shows_up(plugin_site: Path):
    out = run_cli("plugins", "--json", env_extra={"PYTHONPATH": str(plugin_site)})
    assert out.returncode == 0, out.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(out.stdout)}
    assert rows[("policy", "echo")]["package"] == "swegym-hello-plugin"
    assert rows[("policy", "echo")]["version"] == "0.3.0"
    assert ("scaffold", "shell-once") in rows


def test_sample_plugin_component_works(plugin_site: Path):
    code = textwrap.dedent("""
        import swegym
        p = swegym.create("policy", "echo")
        print(p.complete([{"role": "user", "content": "hi there"}]).content)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(plugin_site)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hi there"


def test_broken_third_party_plugin_warns_and_is_skipped(tmp_path: Path):
    dist = tmp_path / "swegym_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: swegym-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[swegym]\nbroken = swegym_broken_mod\n")
    (tmp_path / "swegym_broken_mod.py").write_text("raise RuntimeError('boom at import')\n")
    out = run_cli("plugins", "--json", env_extra={"PYTHONPATH": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "broken" in out.stderr and "swegym-broken" in out.stderr and "boom at import" in out.stderr
    assert ("dataset", "demo") in {(r["kind"], r["name"]) for r in json.loads(out.stdout)}


def test_registry_unknown_name_lists_alternatives():
    with pytest.raises(swegym.SwegymError, match="Available datasets: .*demo"):
        swegym.get_registry().get("dataset", "nope")


def test_plugin_that_fails_in_hook_is_skipped():
    class Bad:
        @swegym.hookimpl
        def register_policies(self, register):
            raise ValueError("bad hook")

    registry = Registry()
    with pytest.warns(PluginWarning, match="bad-one"):
        registry.add_plugin(Bad(), "bad-one", "bad-pkg", "0")
    assert "bad-one" in registry.failed


def test_core_does_not_import_heavy_libraries():
    code = ("import sys, swegym, swegym.cli, swegym.tasks, swegym.plugins;"
            "swegym.get_registry();"
            "heavy = [m for m in ('torch', 'docker', 'litellm', 'transformers', 'ray') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout.strip()}"
