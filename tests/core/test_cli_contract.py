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

ROOT = Path(__file__).resolve().parents[2]
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


# -- typed options and the shared vocabulary -------------------------------------------------------
def test_options_name_the_unknown_key_and_list_valid_ones():
    from swegym_openhands.options import OpenHandsOptions

    with pytest.raises(swegym.SwegymError, match=r"scaffold openhands: unknown option\(s\) max_stepz; valid options: .*max_steps"):
        OpenHandsOptions.from_dict({"max_stepz": 3})
    opts = OpenHandsOptions.from_dict({"max-iterations": 3, "function_calling": "json"})
    assert opts.kwargs() == {"max_iterations": 3, "function_calling": "text"}  # old words accepted, one vocabulary out


def test_moatless_options_keep_its_own_settings():
    from swegym_moatless.options import MoatlessOptions

    kwargs = MoatlessOptions.from_dict({"max_steps": 4, "function_calling": "text", "max_retries": 1}).kwargs()
    assert kwargs == {"max_transitions": 4, "function_calling": "json", "max_retries": 1}


def test_stop_reason_maps_the_old_words():
    from swegym.options import StopReason, function_calling

    assert StopReason.parse("finished") is StopReason.FINISH is StopReason.parse("finish")
    assert StopReason.parse("max_iterations") is StopReason.parse("max_transitions") is StopReason.MAX_STEPS
    assert StopReason.parse("a-plugin-word") == "a-plugin-word"
    assert function_calling("json") == "text" and function_calling("native") == "native"
    with pytest.raises(swegym.SwegymError, match="auto, native, text"):
        function_calling("xml")


# -- fail fast, one language -----------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--scaffold", "nosuch"], "no scaffold named 'nosuch'. Available scaffolds: .*moatless"),
    (["--policy", "nosuch"], "no policy named 'nosuch'. Available policies: .*replay"),
    (["--executor", "nosuch"], "no executor named 'nosuch'. Available executors: .*local"),
    (["--runtime", "nosuch"], "no runtime named 'nosuch'. Available runtimes: .*docker"),
    (["--scaffold", "openhands", "--scaffold-opt", "max_stepz=3"], r"unknown option\(s\) max_stepz; valid options:"),
    (["--policy", "hf", "--api-base", "http://127.0.0.1:9/v1"], "--api-base is an option of policy 'litellm'"),
])
def test_run_refuses_bad_names_before_any_work(tmp_path, args, message):
    import re

    run_dir = tmp_path / "run"
    started = time.monotonic()
    out = swegym_cli("run", "--run-dir", str(run_dir), *args, cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert out.returncode == 2, out.stderr
    assert re.search(message, out.stderr), out.stderr
    assert "Traceback" not in out.stderr and not run_dir.exists() and not (tmp_path / "runs").exists()
    assert elapsed < 3, f"took {elapsed:.1f}s to refuse"


@pytest.mark.parametrize("text, message", [
    ("run:\n  scaffold: openhands\n  scaffold_opt: ['profil=v2.1']\n", "unknown option(s) profil; valid options:"),
    ("run:\n  scafold: openhands\n", "unknown option(s) scafold for `swegym run`; valid: "),
    ("runn:\n  scaffold: openhands\n", "unknown command or option 'runn' in the config file"),
    ("tasks:\n  mine:\n    offlin: true\n", "unknown option(s) offlin for `swegym tasks mine`"),
])
def test_unknown_config_key_is_an_error_naming_it(tmp_path, text, message):
    cfg = tmp_path / "swegym.yaml"
    cfg.write_text(text)
    out = swegym_cli("--config", str(cfg), "run", "--run-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [["eval", "--predictions", "gold", "--run-dir", "R"], ["validate"],
                                     ["images", "ls"]])
def test_unreachable_daemon_exits_3_with_one_line(tmp_path, command):
    out = swegym_cli(*command, "-d", "demo", "--limit", "1", "--docker-host", "tcp://127.0.0.1:1", cwd=tmp_path) \
        if command[0] != "images" else swegym_cli(*command, "--docker-host", "tcp://127.0.0.1:1", cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith(("warning", "eval", "gold"))]
    assert len(lines) == 1 and lines[0].startswith("error: infrastructure: ") and "127.0.0.1:1" in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_run_and_eval_speak_the_same_names():
    from click.testing import CliRunner

    from swegym.cli import cli

    for command in (["run"], ["eval"], ["validate"], ["rft"]):
        out = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
        assert out.exit_code == 0, out.output
        for flag in ("--eval-timeout", "--infra-retries", "--repo-source", "--docker-host", "--runtime-opt"):
            assert flag in out.output, (command, flag)
        assert "--timeout" not in out.output.replace("--eval-timeout", "").replace("--rollout-timeout", "")
    run_help = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200).output
    assert "--max-steps" in run_help and "--max-iterations" not in run_help


def test_core_names_no_plugin():
    """The Done-when grep: no branch in core/ on a plugin's name (default values are fine)."""
    import re

    names = r'"(litellm|openhands|moatless|replay|ray|orm)"'
    branch = re.compile(rf"(==|!=|\bin\b|\bif\b|\belif\b)\s*[^#\n]*{names}|{names}\s*(==|!=|\bin\b)")
    hits = []
    for path in (ROOT / "core").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if branch.search(line.split("#")[0]):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


# -- a third-party plugin brings its own flag ------------------------------------------------------
def test_third_party_scaffold_flag_reaches_it(tmp_path, docker_client, base_image):
    env = {"PYTHONPATH": str(HELLO)}
    help_out = swegym_cli("-p", "swegym_hello", "run", "--help", env_extra=env)
    assert "--hello-greeting" in help_out.stdout
    assert "--hello-greeting" not in swegym_cli("run", "--help").stdout  # not loaded: no flag
    run_dir = tmp_path / "hello"
    out = swegym_cli("-p", "swegym_hello", "run", "--scaffold", "shell-once", "--policy", "echo", "-d", "demo",
                     "--limit", "1", "--no-eval", "--no-progress", "--hello-greeting", "bonjour",
                     "--run-dir", str(run_dir), env_extra=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    (row,) = [json.loads(line) for line in (run_dir / "trajectories.jsonl").read_text().splitlines()]
    assert row["messages"][0]["content"] == "echo bonjour from $(pwd)"
    assert "bonjour from /" in row["messages"][-1]["content"] and row["stop_reason"] == "finish"
    refused = swegym_cli("-p", "swegym_hello", "run", "--scaffold", "openhands", "--hello-greeting", "x",
                         "--run-dir", str(tmp_path / "no"), env_extra=env)
    assert refused.returncode == 2 and "--hello-greeting is an option of scaffold 'shell-once'" in refused.stderr


def test_every_options_class_covers_its_constructor():
    """A keyword added to a component's constructor must be added to its Options too (or it is refused)."""
    import inspect

    from swegym_docker.options import DockerOptions
    from swegym_docker.runtime import DockerRuntime
    from swegym_hf.options import HFOptions
    from swegym_hf.policy import HFPolicy
    from swegym_litellm.options import LiteLLMOptions
    from swegym_litellm.policy import LiteLLMPolicy
    from swegym_openhands.options import OpenHandsOptions
    from swegym_openhands.scaffold import CodeActScaffold
    from swegym_orm.options import OrmOptions
    from swegym_orm.verifier import OrmVerifier
    from swegym_ray.executor import RayExecutor
    from swegym_ray.options import RayOptions
    from swegym_replay.options import ReplayOptions
    from swegym_replay.policy import ReplayPolicy

    from swegym.orchestration.executors import LocalExecutor, LocalOptions

    pairs = [(DockerOptions, DockerRuntime), (HFOptions, HFPolicy), (LiteLLMOptions, LiteLLMPolicy),
             (OpenHandsOptions, CodeActScaffold), (OrmOptions, OrmVerifier), (RayOptions, RayExecutor),
             (ReplayOptions, ReplayPolicy), (LocalOptions, LocalExecutor)]
    for options, cls in pairs:
        params = [p.name for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        declared = {options.renames.get(f, f) for f in options.field_names()}
        assert set(params) == declared, (options.__name__, set(params) ^ declared)


def test_a_run_started_with_old_option_names_still_resumes(tmp_path):
    """A manifest that says max_iterations compares equal to today's max_steps."""
    from swegym.orchestration import RunConfig
    from swegym.orchestration.engine import _check_resumable

    old = RunConfig(scaffold="openhands", scaffold_options={"max_iterations": 5}, policy="replay",
                    policy_options={"path": "t.jsonl"})
    new = RunConfig(scaffold="openhands", scaffold_options={"max_steps": 5}, policy="replay",
                    policy_options={"path": "t.jsonl"})
    _check_resumable({"config": old.public()}, new, tmp_path)
    changed = RunConfig(scaffold="openhands", scaffold_options={"max_steps": 6}, policy="replay",
                        policy_options={"path": "t.jsonl"})
    with pytest.raises(swegym.DataError, match="scaffold_options"):
        _check_resumable({"config": old.public()}, changed, tmp_path)
