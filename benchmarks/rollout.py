"""Rollout engine benchmark: replay policy + OpenHands scaffold on the demo tasks, real Docker.

Measures, in one run:
  * rollouts per minute with 1 and 2 workers (full rollouts: sandbox, agent, evaluation);
  * host-side overhead per agent step: scaffold wall time minus time inside the sandbox and the
    policy, divided by steps (what swegym itself adds to every action);
  * peak host RSS per concurrent rollout: driver RSS growth at 2 workers, divided by 2.
  * side by side with mini-swe-agent (issue 19): host CPU per step and wall per rollout at 1 and
    2 workers, both agents on one scripted model server (see ``versus_mini``).
Last line: JSON with step_overhead_ms, step_cpu_ms, rss_per_rollout_mb, scaling_2_vs_1, and
``peers`` (per agent: version, cpu_ms_per_step, wall_per_rollout_s_w1/_w2, rollouts_per_min_w1/_w2)
with the ratios; every figure there is the one the table prints.

Rates are steady-state rates, what a run of thousands of tasks sustains: a watcher notes when
each row lands in trajectories.jsonl, and the rate is taken between the ``--edge``-th completion
and the ``--edge``-th from last. A whole-run rate (start to end) is printed too; on a short run
it is not the engine's rate: at 2 workers the first rollouts start in lockstep (two container
starts at once), the last one often runs alone, and the run's fixed costs (manifest, lock,
report) count twice as much as at 1 worker.

Each throughput run does 5 demo tasks x ``--repeats`` samples (default 4: 20 rollouts per run).
The 1-worker and 2-worker runs alternate for ``--rounds`` rounds (1, 2, 1, 2) and each rate sums
its rounds' windows, so a drift in this (virtual) machine's speed, which moves single runs by
10-20 %, hits both rates alike.

Usage: python benchmarks/rollout.py [--repeats 4] [--rounds 2] [--edge 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import swegym
from swegym.demo.solutions import _hunks, gold_trajectory, write_gold_trajectories
from swegym.orchestration import RunConfig, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # openai_server: the loopback model server
import _peers  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """Calls ``sample()`` every ``interval`` seconds on a thread while active, and once at the end."""

    interval = 0.02

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # what happened after the last tick


class PeakRss(Sampler):
    """This process's peak RSS while active."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = rss_mb()

    def sample(self) -> None:
        self.peak = max(self.peak, rss_mb())


class Timed:
    """A proxy that adds the time spent inside the wrapped object's methods to ``spent``.

    ``children`` names methods that return another object to time the same way (the sandbox's
    ``terminal()``: the OpenHands agent's commands go through the pty terminal it returns, not
    ``run``); their time adds to this proxy's ``spent``.
    """

    TERMINAL_METHODS = ("send_raw", "wait", "execute", "line", "interrupt", "close", "kill_command")

    def __init__(self, inner: Any, methods: tuple[str, ...], children: tuple[str, ...] = (),
                 parent: "Timed | None" = None) -> None:
        self._inner, self._methods, self._children, self._parent = inner, methods, children, parent
        self.spent, self.calls = 0.0, 0

    def _add(self, seconds: float) -> None:
        self.spent += seconds
        if self._parent is not None:
            self._parent._add(seconds)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._methods and name not in self._children:
            return attr

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                out = attr(*a, **k)
            finally:
                self._add(time.perf_counter() - t0)
                self.calls += 1
            if name in self._children:
                return Timed(out, self.TERMINAL_METHODS, parent=self)
            return out

        return timed


def step_overhead(tasks: list[swegym.Task], gold: Path, repeats: int) -> tuple[float, float, int]:
    """(median wall overhead per step in ms, median host CPU per step in ms, steps).

    Wall overhead: scaffold wall time minus the time inside sandbox calls (``run``, files, diff,
    reset and the agent's pty terminal) and the policy. Host CPU: this process's user+system time
    during the episode (the replay policy costs next to nothing; waiting on the sandbox costs none).
    """
    import resource

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    runtime = swegym.create("runtime", "docker")
    samples, cpu_samples = [], []
    steps_total = 0
    for _ in range(repeats):
        for task in tasks:
            runtime.ensure_image(task)
            policy = Timed(swegym.create("policy", "replay", path=str(gold), instance_id=task.instance_id), ("complete",))
            scaffold = swegym.create("scaffold", "openhands")
            with runtime.open(task) as raw:
                sandbox = Timed(raw, ("run", "read_file", "write_file", "diff", "reset"), children=("terminal",))
                t0, c0 = time.perf_counter(), cpu()
                traj = scaffold.run(task, sandbox, policy)  # type: ignore[arg-type]
                wall, used = time.perf_counter() - t0, cpu() - c0
            steps = max(1, policy.calls)
            steps_total += steps
            samples.append((wall - sandbox.spent - policy.spent) / steps * 1000)
            cpu_samples.append(used / steps * 1000)
            assert traj.patch, f"no patch for {task.instance_id}"
    runtime.close()
    return statistics.median(samples), statistics.median(cpu_samples), steps_total


class Completions(Sampler):
    """Notes the time at which each row appears in a run's trajectories.jsonl (polled every 10 ms)."""

    interval = 0.01

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path, self.times = path, []

    def sample(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                rows = fh.read().count(b"\n")
        except FileNotFoundError:
            return
        now = time.perf_counter()
        self.times += [now] * (rows - len(self.times))

    def steady_window(self, edge: int) -> tuple[int, float]:
        """(rollouts, seconds) between the edge-th completion and the edge-th from last."""
        t = sorted(self.times)
        lo, hi = edge, len(t) - 1 - edge
        if hi <= lo or t[hi] <= t[lo]:
            raise ValueError(f"{len(t)} rollouts are too few for --edge {edge}")
        return hi - lo, t[hi] - t[lo]


def throughput(tasks: list[swegym.Task], gold: Path, workers: int, repeats: int,
               edge: int) -> tuple[tuple[int, float], tuple[int, float], float]:
    """(steady window, whole run, driver RSS growth in MB); windows are (rollouts, seconds)."""
    cfg = RunConfig(scaffold="openhands", policy="replay", policy_options={"path": str(gold)}, samples=repeats)
    with tempfile.TemporaryDirectory() as tmp, PeakRss() as peak:
        run_dir = Path(tmp) / "run"
        before = rss_mb()
        t0 = time.perf_counter()
        with Completions(run_dir / "trajectories.jsonl") as done:
            summary = run(cfg, tasks, run_dir, executor_options={"workers": workers}, progress=False)
        elapsed = time.perf_counter() - t0
    assert summary["resolved"] == len(tasks) * repeats, summary
    assert len(done.times) == summary["rollouts"], (len(done.times), summary["rollouts"])
    return done.steady_window(edge), (summary["rollouts"], elapsed), peak.peak - before


def per_minute(windows: list[tuple[int, float]]) -> float:
    return sum(n for n, _ in windows) / sum(s for _, s in windows) * 60


# -- side by side with mini-swe-agent (issue 19) ----------------------------------------------------
# One scripted OpenAI-compatible server on loopback (tests/openai_server.py) plays the same plan for
# both agents: look at each file the gold patch touches, make each hunk's edit, run the tests,
# finish. swegym's OpenHands scaffold gets it as native tool calls (str_replace_editor,
# execute_bash, finish); mini-swe-agent's default agent as its ``bash`` tool (cat, a python edit,
# pytest, ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``): the same number of steps per task.
# Each agent runs in a fresh process of its own environment; host CPU is that process's user+system
# time plus its children's (mini-swe-agent's ``docker`` CLI calls), after one warm-up rollout. The
# server's CPU and the Docker daemon's are counted for neither.

MINI_DRIVER = '''
import json, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
import yaml
from minisweagent.agents.default import DefaultAgent
from minisweagent.config import builtin_config_dir
from minisweagent.environments.docker import DockerEnvironment
from minisweagent.models.litellm_model import LitellmModel
url, spec = sys.argv[1], json.loads(open(sys.argv[2]).read())
cfg = yaml.safe_load((builtin_config_dir / "default.yaml").read_text())
def one(iid):
    model_cfg = dict(cfg["model"])
    model_cfg["model_kwargs"] = {**model_cfg.get("model_kwargs", {}), "api_base": url, "api_key": "sk-bench"}
    model = LitellmModel(model_name="openai/" + iid, cost_tracking="ignore_errors", **model_cfg)
    t0 = time.perf_counter()
    env = DockerEnvironment(image=spec["images"][iid], cwd="/testbed",
                            run_args=["--rm", "--label", "swegym.bench=peers"], **cfg.get("environment", {}))
    try:
        agent = DefaultAgent(model, env, **cfg["agent"])
        result = agent.run(task=spec["problems"][iid])
    finally:
        env.cleanup()
    assert result.get("exit_status") == "Submitted" and "diff --git" in result.get("submission", ""), (iid, result)
    return time.perf_counter() - t0, agent.n_calls
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
one(spec["ids"][0])  # warm-up: imports, first connections
out = {"version": version("mini-swe-agent"), "runs": {}}
for workers in spec["workers"]:
    c0, t0 = cpu(), time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(one, spec["ids"]))
    out["runs"][str(workers)] = {"cpu_s": cpu() - c0, "elapsed_s": time.perf_counter() - t0,
                                 "walls": [w for w, _ in rows], "steps": sum(n for _, n in rows)}
print("@@swegym-result@@ " + json.dumps(out))
'''


def swegym_agent_part(url: str, spec_path: str) -> None:
    """The same rollouts with swegym: DockerRuntime sandbox + OpenHands scaffold + litellm policy."""
    import resource
    from concurrent.futures import ThreadPoolExecutor

    spec = json.loads(Path(spec_path).read_text())
    tasks = {t.instance_id: t for t in swegym.load_tasks("demo")}
    runtime = swegym.create("runtime", "docker", run_id="bench-rollout-peers")

    def one(iid: str) -> tuple[float, int]:
        task = tasks[iid]
        policy = swegym.create("policy", "litellm", model="openai/" + iid, api_base=url, api_key="sk-bench",
                               function_calling="native")
        t0 = time.perf_counter()
        with runtime.open(task, image=spec["images"][iid]) as sandbox:
            traj = swegym.create("scaffold", "openhands").run(task, sandbox, policy)
        assert traj.stop_reason == "finish" and "diff --git" in traj.patch, (iid, traj.stop_reason)
        return time.perf_counter() - t0, sum(1 for m in traj.messages if m.get("role") == "assistant")

    def cpu() -> float:
        a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

    one(spec["ids"][0])  # warm-up, as for mini-swe-agent
    out: dict[str, Any] = {"version": swegym.__version__, "runs": {}}
    for workers in spec["workers"]:
        c0, t0 = cpu(), time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            rows = list(pool.map(one, spec["ids"]))
        out["runs"][str(workers)] = {"cpu_s": cpu() - c0, "elapsed_s": time.perf_counter() - t0,
                                     "walls": [w for w, _ in rows], "steps": sum(n for _, n in rows)}
    runtime.close()
    print(_peers.RESULT_TAG + json.dumps(out))


def mini_plan(task: swegym.Task) -> list[str]:
    """The gold trajectory's steps as mini-swe-agent bash commands (run by ``bash -lc`` in /testbed)."""
    hunks = _hunks(task.patch)
    steps = [f"cat {p}" for p in dict.fromkeys(p for p, _, _ in hunks)]
    for path, old, new in hunks:
        steps.append("python3 - <<'SWEGYM_EOF'\nimport pathlib\n"
                     f"p = pathlib.Path({path!r}); s = p.read_text(); old = {old!r}\n"
                     f"assert s.count(old) == 1, 'not found'\np.write_text(s.replace(old, {new!r}))\nSWEGYM_EOF")
    # a login shell resets PATH: the scripted model names the task environment's python
    steps.append("/opt/swegym/venv/bin/python -m pytest -q 2>&1 | tail -5")
    steps.append("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff")
    return steps


class ScriptedModel:
    """Answers each request with the next step of its task's plan, in the asking agent's tool format."""

    def __init__(self, tasks: list[swegym.Task]) -> None:
        self.openhands = {t.instance_id: [m for m in gold_trajectory(t)["messages"] if m["role"] == "assistant"]
                          for t in tasks}
        self.mini = {t.instance_id: mini_plan(t) for t in tasks}
        assert all(len(self.openhands[k]) == len(self.mini[k]) for k in self.mini), "plans differ in length"

    def __call__(self, req: Any) -> Any:
        from openai_server import Reply

        iid = req.body["model"].removeprefix("openai/")
        step = sum(1 for m in req.body.get("messages", []) if m.get("role") == "assistant")
        tools = {t["function"]["name"] for t in req.body.get("tools") or []}
        if "bash" in tools:  # mini-swe-agent
            return Reply.tool_call("bash", {"command": self.mini[iid][step]}, content="THOUGHT: next step.")
        msg = self.openhands[iid][step]
        return Reply.calls([(c["function"]["name"], c["function"]["arguments"]) for c in msg["tool_calls"]],
                           content=msg["content"])


def versus_mini(tasks: list[swegym.Task], workers: list[int]) -> dict[str, Any]:
    """Both agents' runs ({"version", "runs": {workers: {cpu_s, elapsed_s, walls, steps}}})."""
    from openai_server import OpenAIServer

    runtime = swegym.create("runtime", "docker")
    images = {t.instance_id: runtime.ensure_image(t) for t in tasks}
    runtime.close()
    spec = {"ids": [t.instance_id for t in tasks], "images": images, "workers": workers,
            "problems": {t.instance_id: t.problem_statement for t in tasks}}
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "MSWEA_SILENT_STARTUP": "1", "MSWEA_CONFIGURED": "true"}
    out = {}
    with tempfile.TemporaryDirectory() as tmp, OpenAIServer(responder=ScriptedModel(tasks)) as server:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        print("mini-swe-agent rollouts ...", file=sys.stderr)
        out["mini-swe-agent"] = _peers.run("mini-swe-agent", MINI_DRIVER, [server.url, str(spec_path)], env=env)
        print("swegym rollouts (same server, same tasks) ...", file=sys.stderr)
        proc = subprocess.run([sys.executable, __file__, "--part", "swegym-agent", "--url", server.url,
                               "--spec", str(spec_path)], capture_output=True, text=True, env={**os.environ, **env})
        lines = [x for x in proc.stdout.splitlines() if x.startswith(_peers.RESULT_TAG)]
        if proc.returncode or not lines:
            sys.stderr.write(proc.stderr[-6000:])
            raise SystemExit("the swegym agent run failed")
        out["swegym"] = json.loads(lines[-1][len(_peers.RESULT_TAG):])
    return out


def peer_summary(runs: dict[str, Any]) -> dict[str, Any]:
    """Per tool: CPU ms per step (all workers' runs together) and wall per rollout by workers."""
    out: dict[str, Any] = {}
    for tool, data in runs.items():
        cpu = sum(r["cpu_s"] for r in data["runs"].values())
        steps = sum(r["steps"] for r in data["runs"].values())
        row: dict[str, Any] = {"version": data["version"], "cpu_ms_per_step": round(cpu / steps * 1000, 2),
                               "steps": steps}
        for workers, r in data["runs"].items():
            row[f"wall_per_rollout_s_w{workers}"] = round(statistics.median(r["walls"]), 3)
            row[f"rollouts_per_min_w{workers}"] = round(len(r["walls"]) / r["elapsed_s"] * 60, 2)
        out[tool] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4, help="samples per task in each throughput run")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of 1-worker and 2-worker runs")
    parser.add_argument("--edge", type=int, default=2, help="completions left out at each end of the steady window")
    parser.add_argument("--no-peers", action="store_true", help="skip the side-by-side run with mini-swe-agent")
    parser.add_argument("--peers-only", action="store_true", help="only the side-by-side run with mini-swe-agent")
    parser.add_argument("--part", choices=["swegym-agent"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "swegym-agent":
        swegym_agent_part(args.url, args.spec)
        return
    tasks = swegym.load_tasks("demo")
    peers = {} if args.no_peers else peer_summary(versus_mini(tasks, [1, 2]))
    if args.peers_only:
        print_peers(peers)
        print(json.dumps({"peers": peers, **peer_ratios(peers)}))
        return
    runtime = swegym.create("runtime", "docker")
    for task in tasks:  # images first: building is not what we measure
        runtime.ensure_image(task)
    runtime.close()
    with tempfile.TemporaryDirectory() as tmp:
        gold = write_gold_trajectories(tasks, Path(tmp) / "gold.jsonl")
        overhead_ms, cpu_ms, steps = step_overhead(tasks, gold, repeats=3)
        throughput(tasks[:2], gold, 1, 1, edge=0)  # warm caches (page cache, images) before timing
        steady: dict[int, list] = {1: [], 2: []}
        whole: dict[int, list] = {1: [], 2: []}
        growth = []
        for _ in range(args.rounds):  # 1, 2, 1, 2 ...: a drift in machine speed hits both alike
            for workers in (1, 2):
                window, total, rss_growth = throughput(tasks, gold, workers, args.repeats, args.edge)
                steady[workers].append(window)
                whole[workers].append(total)
                if workers == 2:
                    growth.append(rss_growth)
    rss_per = max(max(growth), 0.0) / 2
    rpm1, rpm2 = per_minute(steady[1]), per_minute(steady[2])
    whole1, whole2 = per_minute(whole[1]), per_minute(whole[2])
    scaling = rpm2 / rpm1
    rounds = [per_minute([b]) / per_minute([a]) for a, b in zip(steady[1], steady[2])]
    n = len(tasks) * args.repeats
    rows = [
        ("rollouts/min, 1 worker (steady)", f"{rpm1:.1f}   (whole runs: {whole1:.1f})"),
        ("rollouts/min, 2 workers (steady)", f"{rpm2:.1f}   (whole runs: {whole2:.1f})"),
        ("scaling 2 vs 1 (steady)", f"{scaling:.2f}   (target >= 1.6; per round: "
                                    f"{', '.join(f'{r:.2f}' for r in rounds)}; whole runs: {whole2 / whole1:.2f})"),
        ("host overhead per agent step (wall)", f"{overhead_ms:.2f} ms   (target <= 5; {steps} steps)"),
        ("host CPU per agent step (replay policy)", f"{cpu_ms:.2f} ms"),
        ("peak host RSS per concurrent rollout", f"{rss_per:.1f} MB   (target <= 50)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{args.rounds} rounds of a 1-worker and a 2-worker run, {n} rollouts each (5 demo tasks x "
          f"{args.repeats}); steady windows leave out {args.edge} completions at each end")
    print(f"{'metric':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    result: dict[str, Any] = {}
    if peers:
        print_peers(peers)
        result = {"peers": peers, **peer_ratios(peers)}
    print(json.dumps({"step_overhead_ms": round(overhead_ms, 3), "step_cpu_ms": round(cpu_ms, 3), "rss_per_rollout_mb": round(rss_per, 2),
                      "scaling_2_vs_1": round(scaling, 3), "rollouts_per_min_1": round(rpm1, 2),
                      "rollouts_per_min_2": round(rpm2, 2), "scaling_2_vs_1_whole_run": round(whole2 / whole1, 3),
                      "scaling_per_round": [round(r, 3) for r in rounds], "rollouts_per_run": n, **result}))


def peer_ratios(peers: dict[str, Any]) -> dict[str, Any]:
    mine, mini = peers["swegym"], peers["mini-swe-agent"]
    return {"cpu_per_step_vs_mini_swe_agent": round(mine["cpu_ms_per_step"] / mini["cpu_ms_per_step"], 3),
            "wall_per_rollout_vs_mini_swe_agent_w1": round(mine["wall_per_rollout_s_w1"] / mini["wall_per_rollout_s_w1"], 3),
            "wall_per_rollout_vs_mini_swe_agent_w2": round(mine["wall_per_rollout_s_w2"] / mini["wall_per_rollout_s_w2"], 3)}


def print_peers(peers: dict[str, Any]) -> None:
    print(f"\nside by side: same scripted model server, same {len(swegym.load_tasks('demo'))} demo tasks, "
          f"no evaluation (sandbox + agent loop); host CPU = the agent process and its children")
    print(f"{'agent':<16}{'version':>9}{'CPU ms/step':>13}{'steps':>7}{'wall/rollout 1w':>17}{'wall/rollout 2w':>17}"
          f"{'rollouts/min 1w':>17}{'2w':>7}")
    for tool in ("swegym", "mini-swe-agent"):
        r = peers[tool]
        print(f"{tool:<16}{r['version']:>9}{r['cpu_ms_per_step']:>13.1f}{r['steps']:>7}{r['wall_per_rollout_s_w1']:>16.2f}s"
              f"{r['wall_per_rollout_s_w2']:>16.2f}s{r['rollouts_per_min_w1']:>17.1f}{r['rollouts_per_min_w2']:>7.1f}")
    ratio = peer_ratios(peers)["cpu_per_step_vs_mini_swe_agent"]
    print(f"host CPU per step: {ratio:.2f}x mini-swe-agent's (target <= 1.0: {'OK' if ratio <= 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
