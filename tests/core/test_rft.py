"""The RFT loop's logic: accumulation, nothing-to-train, resume/skip, serving, CLI errors.

Sampling here writes real run-directory rows (the file format ``swegym run`` writes, with the
demo tasks' scripted gold trajectories as resolved rollouts) instead of driving Docker, and the
trainer is a small real Trainer that writes a checkpoint folder. Export, the run-dir readers,
``rft.json`` and the serve process are the real ones. ``test_rft_notebook.py`` runs everything
for real (Docker, torchtune, the hf policy).
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from swegym import InfrastructureError, SwegymError, Trainer, Trajectory
from swegym.demo.solutions import gold_trajectory
from swegym.orchestration import RunDir
from swegym.orchestration.engine import run_summary
from swegym.rft import RFTConfig, RFTLoop, format_table, read_summary
from swegym.rft.serve import ModelServer, render_command

SWEGYM = [sys.executable, "-m", "swegym.cli"]


class RecordingTrainer(Trainer):
    """Writes a checkpoint folder naming what it was trained on; remembers every call."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def train(self, model, data, output_dir, config=None) -> Path:
        rows = [json.loads(line) for line in Path(data).read_text().splitlines() if line.strip()]
        self.calls.append({"model": str(model), "ids": sorted(r["instance_id"] for r in rows), "config": config})
        out = Path(output_dir)
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"trained_from": str(model), "samples": len(rows)}))
        return out


class ScriptedLoop(RFTLoop):
    """Sampling resolves the tasks ``script[i]`` names at iteration i and fails the rest."""

    def __init__(self, *args: Any, script: dict[int, set[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script = script
        self.sampled: list[tuple[int, Any]] = []
        self.during_sampling: list[Any] = []

    def run_rollouts(self, i: int, run_config: Any) -> dict[str, Any]:
        self.sampled.append((i, run_config))
        rd = RunDir(self.rollouts_dir(i))
        rd.write_manifest({"run_id": f"r{i}", "config": run_config.public()})
        for task in self.tasks:
            for k in range(run_config.samples):
                ok = task.instance_id in self.script.get(i, set())
                traj = Trajectory(instance_id=task.instance_id, messages=gold_trajectory(task)["messages"],
                                  patch=task.patch if ok else "", run_id=f"r{i}", scaffold="openhands",
                                  model=str(run_config.policy_options.get("model")),
                                  metadata={"sample_index": k},
                                  evaluation={"instance_id": task.instance_id,
                                              "status": "resolved" if ok else "empty_patch"})
                rd.append(traj.to_dict())
        for probe in self.during_sampling:
            probe()
        return run_summary(rd)


@pytest.fixture()
def base_model(tmp_path) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    (path / "config.json").write_text("{}")
    return path


@pytest.fixture(scope="module")
def three_tasks(demo_tasks):
    return demo_tasks[:3]


def ids(path: Path) -> list[str]:
    return sorted(json.loads(line)["instance_id"] for line in path.read_text().splitlines() if line.strip())


def make_loop(base_model: Path, tmp_path: Path, tasks, script, trainer=None, **overrides) -> ScriptedLoop:
    settings = {"model": str(base_model), "work_dir": str(tmp_path / "w"), "iterations": 3,
                "train_config": {"max_steps": 1}} | overrides
    messages: list[str] = []
    loop = ScriptedLoop(RFTConfig(**settings), tasks, script=script, trainer=trainer or RecordingTrainer(),
                        log=messages.append)
    loop.messages = messages  # type: ignore[attr-defined]
    return loop


# -- accumulation ---------------------------------------------------------------------------------

def test_pool_accumulates_resolved_rollouts_and_seed_runs(tmp_path, base_model, three_tasks):
    a, b, c = (t.instance_id for t in three_tasks)
    seed = tmp_path / "teacher.jsonl"
    teacher = Trajectory(instance_id=c, messages=gold_trajectory(three_tasks[2])["messages"], run_id="teacher",
                         evaluation={"status": "resolved"})
    seed.write_text(json.dumps(teacher.to_dict()) + "\n")
    loop = make_loop(base_model, tmp_path, three_tasks, {0: {a}, 1: {b}}, seed_runs=[str(seed)])
    summary = loop.run()

    w = tmp_path / "w"
    assert ids(w / "iter-0" / "sft.jsonl") == sorted([a, c])
    assert ids(w / "iter-1" / "sft.jsonl") == sorted([a, b, c])
    assert ids(w / "iter-2" / "sft.jsonl") == sorted([a, b, c])  # nothing new, nothing lost
    trainer = loop.trainer()
    assert [call["ids"] for call in trainer.calls] == [sorted([a, c]), sorted([a, b, c]), sorted([a, b, c])]
    assert {call["model"] for call in trainer.calls} == {str(base_model.resolve())}  # train_from=base
    assert trainer.calls[0]["config"] == {"max_steps": 1}
    # each iteration samples with the previous iteration's checkpoint through the hf policy
    policies = [(rc.policy, rc.policy_options["model"]) for _, rc in loop.sampled]
    assert policies == [("hf", str(base_model.resolve())), ("hf", str(w / "iter-0" / "checkpoint")),
                        ("hf", str(w / "iter-1" / "checkpoint"))]
    assert [rc.seed for _, rc in loop.sampled] == [0, 1, 2]

    on_disk = read_summary(w)
    assert on_disk == json.loads(json.dumps(summary))
    rows = on_disk["iterations"]
    assert [r["resolved"] for r in rows] == [1, 1, 0]
    assert [r["resolve_rate"] for r in rows] == [pytest.approx(1 / 3, abs=1e-3)] * 2 + [0.0]
    assert [r["train_samples"] for r in rows] == [2, 3, 3]
    assert [r["checkpoint"] for r in rows] == [str(w / f"iter-{i}" / "checkpoint") for i in range(3)]
    assert on_disk["final_model"] == str(w / "iter-2" / "checkpoint")
    assert rows[1]["pool"] == [str(seed.resolve()), str(w / "iter-0" / "rollouts"), str(w / "iter-1" / "rollouts")]
    assert all(r["seconds"]["sample"] is not None and r["seconds"]["export"] is not None for r in rows)
    assert (w / "iter-0" / "sample.json").is_file() and json.loads((w / "iter-0" / "train.json").read_text())["seconds"] >= 0
    table = format_table(on_disk)
    assert "33.3%" in table and "iter-2/checkpoint" in table


def test_train_from_previous_continues_the_last_checkpoint(tmp_path, base_model, three_tasks):
    a = three_tasks[0].instance_id
    loop = make_loop(base_model, tmp_path, three_tasks, {0: {a}, 1: {a}}, iterations=2, train_from="previous")
    loop.run()
    assert [c["model"] for c in loop.trainer().calls] == [str(base_model.resolve()),
                                                          str(tmp_path / "w" / "iter-0" / "checkpoint")]


# -- nothing to train -----------------------------------------------------------------------------

def test_nothing_resolved_skips_training_and_keeps_the_model(tmp_path, base_model, three_tasks):
    a = three_tasks[0].instance_id
    loop = make_loop(base_model, tmp_path, three_tasks, {1: {a}}, iterations=3)
    summary = loop.run()
    rows = summary["iterations"]
    assert rows[0]["training"] == "skipped" and rows[0]["checkpoint"] is None and rows[0]["train_samples"] == 0
    assert not (tmp_path / "w" / "iter-0" / "checkpoint").exists()
    assert any("nothing resolved yet" in m for m in loop.messages)
    # iteration 1 samples the base model again, then trains on what it resolved
    assert loop.sampled[1][1].policy_options["model"] == str(base_model.resolve())
    assert rows[1]["training"] == "done" and len(loop.trainer().calls) == 2
    assert loop.sampled[2][1].policy_options["model"] == str(tmp_path / "w" / "iter-1" / "checkpoint")


def test_last_iteration_can_only_evaluate(tmp_path, base_model, three_tasks):
    a = three_tasks[0].instance_id
    loop = make_loop(base_model, tmp_path, three_tasks, {0: {a}, 1: {a}}, iterations=2, train_last=False)
    summary = loop.run()
    assert len(loop.trainer().calls) == 1
    assert summary["iterations"][1]["training"] == "skipped" and summary["iterations"][1]["train_samples"] == 2
    assert summary["final_model"] == str(tmp_path / "w" / "iter-0" / "checkpoint")


# -- resume ---------------------------------------------------------------------------------------

def test_resume_skips_finished_stages_and_redoes_only_missing_ones(tmp_path, base_model, three_tasks):
    a, b, _ = (t.instance_id for t in three_tasks)
    script = {0: {a}, 1: {b}}
    first = make_loop(base_model, tmp_path, three_tasks, script, iterations=2)
    done = first.run()

    again = make_loop(base_model, tmp_path, three_tasks, script, iterations=2)
    redo = again.run()
    assert again.sampled == [] and again.trainer().calls == []
    strip = lambda s: [{k: v for k, v in r.items() if k != "seconds"} for r in s["iterations"]]  # noqa: E731
    assert strip(redo) == strip(done)
    assert redo["iterations"][0]["seconds"] == done["iterations"][0]["seconds"]  # kept, not re-measured

    # a training run killed mid-way: no train.json, no checkpoint, a partial folder
    w = tmp_path / "w"
    (w / "iter-1" / "train.json").unlink()
    import shutil

    shutil.rmtree(w / "iter-1" / "checkpoint")
    (w / "iter-1" / "checkpoint.part").mkdir()
    (w / "iter-1" / "checkpoint.part" / "junk.bin").write_text("partial")
    third = make_loop(base_model, tmp_path, three_tasks, script, iterations=3)
    third.run()
    assert [i for i, _ in third.sampled] == [2]  # only the new iteration samples
    assert [c["ids"] for c in third.trainer().calls] == [sorted([a, b])] * 2  # iter-1 redone, iter-2 new
    assert not (w / "iter-1" / "checkpoint.part").exists() and (w / "iter-1" / "checkpoint" / "config.json").is_file()


def test_partial_sampling_is_resumed_not_skipped(tmp_path, base_model, three_tasks):
    loop = make_loop(base_model, tmp_path, three_tasks, {}, iterations=1, samples=2)
    rd = RunDir(loop.rollouts_dir(0))
    rd.write_manifest({"run_id": "x"})
    rd.append({"instance_id": three_tasks[0].instance_id, "metadata": {"sample_index": 0}, "status": "empty_patch"})
    assert not loop.sampling_done(0)
    loop.run()
    assert [i for i, _ in loop.sampled] == [0]


# -- policies, serving, validation ------------------------------------------------------------------

def test_first_policy_and_served_policies(tmp_path, base_model, three_tasks):
    cfg = RFTConfig(model=str(base_model), work_dir=str(tmp_path / "w"), first_policy="replay",
                    first_policy_options={"path": "gold.jsonl"}, api_base="http://127.0.0.1:9/v1",
                    serve_cmd="serve {model}", policy_options={"api_key": "sk-secret-1"})
    loop = RFTLoop(cfg, three_tasks, trainer=RecordingTrainer(), log=lambda m: None)
    assert loop.policy_for(0, "m0") == ("replay", {"path": "gold.jsonl"}, None)
    name, options, served = loop.policy_for(2, "ckpt")
    assert (name, served) == ("litellm", "rft-iter-2")
    assert options["model"] == "hosted_vllm/rft-iter-2" and options["api_base"] == "http://127.0.0.1:9/v1"
    assert "sk-secret-1" not in json.dumps(cfg.public())
    assert cfg.public()["max_tokens"] is None  # a setting, not a secret


@pytest.mark.parametrize("change, message", [
    ({"api_base": "http://127.0.0.1:8000/v1"}, "--serve-cmd"),
    ({"serve_cmd": "vllm serve {model}"}, "--api-base"),
    ({"model": "/nonexistent/model"}, "not a directory"),
    ({"seed_runs": ["/nonexistent/run"]}, "--seed-run"),
    ({"train_from": "scratch"}, "train_from"),
    ({"iterations": 0}, "iterations"),
])
def test_bad_settings_fail_before_any_work(tmp_path, base_model, three_tasks, change, message):
    cfg = RFTConfig(**({"model": str(base_model), "work_dir": str(tmp_path / "w")} | change))
    with pytest.raises(SwegymError, match=message):
        RFTLoop(cfg, three_tasks)
    assert not (tmp_path / "w").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = textwrap.dedent("""
    import json, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port, name, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    print("serving", model, "as", name, flush=True)
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"object": "list", "data": [{"id": name, "root": model}]}).encode()
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "model": request["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "served " + model}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}).encode()
            self.send_response(200 if self.path == "/v1/chat/completions" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    HTTPServer(("127.0.0.1", port), H).serve_forever()
""")


def test_serve_command_runs_per_iteration_and_is_stopped(tmp_path, monkeypatch, base_model, three_tasks):
    pytest.importorskip("litellm")
    script = tmp_path / "fake_vllm.py"
    script.write_text(SERVER)
    port = _free_port()
    api_base = f"http://127.0.0.1:{port}/v1"
    a = three_tasks[0].instance_id
    loop = make_loop(base_model, tmp_path, three_tasks, {0: {a}, 1: {a}}, iterations=2, api_base=api_base,
                     serve_cmd=f"{sys.executable} {script} {{port}} {{name}} {{model}}", serve_timeout=60)
    seen: list[dict] = []
    replies: list[str] = []
    loop.during_sampling.append(lambda: seen.append(json.load(urllib.request.urlopen(f"{api_base}/models", timeout=5))))

    def ask_the_policy() -> None:  # the iteration's real litellm policy, through the served process
        from swegym import create

        rc = loop.sampled[-1][1]
        replies.append(create("policy", rc.policy, **rc.policy_options).complete([{"role": "user", "content": "hi"}]).content)

    loop.during_sampling.append(ask_the_policy)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    loop.run()
    assert replies == [f"served {base_model.resolve()}", f"served {tmp_path / 'w' / 'iter-0' / 'checkpoint'}"]
    assert [s["data"][0]["id"] for s in seen] == ["rft-iter-0", "rft-iter-1"]
    assert seen[1]["data"][0]["root"] == str(tmp_path / "w" / "iter-0" / "checkpoint")  # the new checkpoint is served
    assert [rc.policy_options["model"] for _, rc in loop.sampled] == ["hosted_vllm/rft-iter-0", "hosted_vllm/rft-iter-1"]
    assert "serving" in (tmp_path / "w" / "iter-1" / "serve.log").read_text()
    with pytest.raises(OSError):  # stopped after sampling
        urllib.request.urlopen(f"{api_base}/models", timeout=2)


def test_serve_command_that_dies_is_an_infrastructure_error(tmp_path):
    server = ModelServer(f"{sys.executable} -c \"print('no GPU here'); raise SystemExit(3)\"", model="m", name="n",
                         api_base=f"http://127.0.0.1:{_free_port()}/v1", log_path=tmp_path / "serve.log",
                         timeout=30, log=lambda m: None)
    with pytest.raises(InfrastructureError, match="code 3") as info:
        with server:
            pass
    assert "no GPU here" in str(info.value)


def test_serve_template_placeholders():
    cmd = render_command("vllm serve {model} --served-model-name {name} --host {host} --port {port}",
                         model="/ckpt dir", name="rft-iter-1", api_base="http://10.0.0.5:8123/v1")
    assert cmd == "vllm serve '/ckpt dir' --served-model-name rft-iter-1 --host 10.0.0.5 --port 8123"
    with pytest.raises(SwegymError, match="placeholder"):
        render_command("serve {checkpoint}", model="m", name="n", api_base="http://127.0.0.1:1/v1")


# -- CLI --------------------------------------------------------------------------------------------

def _cli(*args: str):
    from click.testing import CliRunner

    from swegym.cli import cli

    return CliRunner().invoke(cli, list(args))


def test_cli_rejects_bad_input_with_exit_code_2(tmp_path, base_model):
    common = ("rft", "--model", str(base_model), "--work-dir", str(tmp_path / "w"), "-d", "demo")
    out = _cli(*common, "--api-base", "http://127.0.0.1:8000/v1")
    assert out.exit_code == 2 and "--serve-cmd" in out.output
    out = _cli(*common, "--first-policy-opt", "path=x.jsonl")
    assert out.exit_code == 2 and "--first-policy" in out.output
    bad = tmp_path / "train.yaml"
    bad.write_text("- not a mapping\n")
    out = _cli(*common, "--train-config", str(bad))
    assert out.exit_code == 2 and "train.yaml" in out.output
    assert not (tmp_path / "w").exists()


def test_cli_help_has_examples():
    out = subprocess.run([*SWEGYM, "rft", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Examples:" in out.stdout and "--serve-cmd" in out.stdout
