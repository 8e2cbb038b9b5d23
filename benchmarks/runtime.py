"""Benchmark the Docker sandbox (issue 3): session readiness, command round trip, reset.

Measured in one run on the demo calc task, ≥ 50 repetitions each:
  ready   create container → start → both shells answer (``runtime.open``), cold
  warm    the same with ``pool_size=1``: open() takes an already started container
  cmd     ``true`` through the persistent session
  tty     ``true`` as the OpenHands agent runs it: pty terminal + the fork's execute_bash rules
  exec    ``true`` through a fresh ``docker exec`` per command (the baseline: mini-swe-agent's way)
  reset   ``sandbox.reset()`` after touching a tracked file and adding an untracked one

Peers, on the same task image, each in its own virtualenv (``benchmarks/_peers.py``), run in
the same invocation after swegym's figures:
  SWE-ReX         SWE-agent's runtime: ``DockerDeployment`` (``docker run`` of the task image with
                  ``swerex-remote`` installed in it, then HTTP to its server); ready = start +
                  bash session + first command answered; cmd = ``run_in_session(true)``
  mini-swe-agent  ``DockerEnvironment``: ``docker run -d`` then one ``docker exec bash -lc`` per
                  command; ready = constructor + first command; cmd = ``execute(true)``
Host memory: RSS of a fresh process (and its children: SWE-ReX keeps a ``docker run`` attached)
that opened one sandbox and ran the command loop, so every tool pays for its own imports.
Targets (issue 19): round trip >= 5x faster than SWE-ReX and >= 50x than mini-swe-agent; ready
time no worse than the fastest peer's.

Prints a table, then one JSON line with ready_p50_ms, cmd_p50_ms, cmd_p90_ms, tty_cmd_p50_ms,
tty_speedup_vs_exec, exec_p50_ms, speedup_vs_exec, reset_p50_ms, and ``peers`` (per peer: version,
ready/cmd figures, host RSS) with the ratios.

    .venv/bin/python benchmarks/runtime.py [--reps 50] [--peer-reps 10] [--docker-host tcp://127.0.0.1:2375]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _peers  # noqa: E402

BENCH_LABEL = "swegym.bench"  # on everything this benchmark creates for the peers: `docker ps -a -f label=...`


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return (ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)) * 1000.0


SWEREX_DRIVER = _peers.TREE_RSS + '''
import asyncio, json, sys, time
from importlib.metadata import version
from swerex.deployment.docker import DockerDeployment
from swerex.runtime.abstract import BashAction, CreateBashSessionRequest

async def open_one(image):
    d = DockerDeployment(image=image, pull="never", python_standalone_dir=None, startup_timeout=180,
                         docker_args=["--label", "swegym.bench=peers"])
    await d.start()
    await d.runtime.create_session(CreateBashSessionRequest(startup_timeout=60))  # default 1 s: too short on a loaded host
    await d.runtime.run_in_session(BashAction(command="true", check="raise"))
    return d

async def main(image, reps, cmd_reps):
    ready, cmd = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        d = await open_one(image)
        ready.append(time.perf_counter() - t0)
        await d.stop()
    if not cmd_reps:  # a ready-only round
        print("@@swegym-result@@ " + json.dumps({"ready": ready, "cmd": [], "rss_mb": None, "version": version("swe-rex")}))
        return
    d = await open_one(image)
    for _ in range(5):
        await d.runtime.run_in_session(BashAction(command="true", check="raise"))
    for _ in range(cmd_reps):
        t0 = time.perf_counter()
        await d.runtime.run_in_session(BashAction(command="true", check="raise"))
        cmd.append(time.perf_counter() - t0)
    rss = tree_rss_mb()
    await d.stop()
    print("@@swegym-result@@ " + json.dumps({"ready": ready, "cmd": cmd, "rss_mb": rss, "version": version("swe-rex")}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
'''

MINI_DRIVER = _peers.TREE_RSS + '''
import json, sys, time
from importlib.metadata import version
from minisweagent.environments.docker import DockerEnvironment

image, reps, cmd_reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ready, cmd = [], []
def open_one():
    env = DockerEnvironment(image=image, cwd="/testbed", run_args=["--rm", "--label", "swegym.bench=peers"])
    assert env.execute({"command": "true"})["returncode"] == 0
    return env
for _ in range(reps):
    t0 = time.perf_counter()
    env = open_one()
    ready.append(time.perf_counter() - t0)
    env.cleanup()
if not cmd_reps:  # a ready-only round
    print("@@swegym-result@@ " + json.dumps({"ready": ready, "cmd": [], "rss_mb": None, "version": version("mini-swe-agent")}))
    sys.exit(0)
env = open_one()
for _ in range(5):
    env.execute({"command": "true"})
for _ in range(cmd_reps):
    t0 = time.perf_counter()
    out = env.execute({"command": "true"})
    cmd.append(time.perf_counter() - t0)
    assert out["returncode"] == 0, out
rss = tree_rss_mb()
env.cleanup()
print("@@swegym-result@@ " + json.dumps({"ready": ready, "cmd": cmd, "rss_mb": rss, "version": version("mini-swe-agent")}))
'''


def swerex_image(client: Any, base_image: str) -> str:
    """``base_image`` with ``swerex-remote`` on PATH (what SWE-ReX's DockerDeployment expects of an image).

    Built offline: the wheels are downloaded on the host (its package index and CA bundle) and
    copied into the build context; the image installs them with ``--no-index`` into /opt/swerex.
    """
    import docker

    version = _peers.PEERS["swe-rex"]
    tag = f"swegym-bench/swerex-{version}:{client.images.get(base_image).id.split(':')[-1][:16]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    print(f"building {tag} (swe-rex=={version} on the task image) ...", file=sys.stderr)
    python = _peers.venv("swe-rex")
    with tempfile.TemporaryDirectory() as ctx:
        subprocess.run([str(python), "-m", "pip", "download", "-q", "-d", f"{ctx}/wheels", f"swe-rex=={version}"],
                       check=True)
        Path(ctx, "Dockerfile").write_text(
            f"FROM {base_image}\nCOPY wheels /tmp/swerex-wheels\n"
            f"RUN python3 -m venv /opt/swerex && /opt/swerex/bin/pip install -q --no-index "
            f"--find-links /tmp/swerex-wheels swe-rex=={version} && "
            f"ln -sf /opt/swerex/bin/swerex-remote /usr/local/bin/swerex-remote && rm -rf /tmp/swerex-wheels\n")
        client.images.build(path=ctx, tag=tag, labels={BENCH_LABEL: "peers"}, network_mode="none", rm=True)
    return tag


def swegym_rss(image: str, docker_host: str | None, cmd_reps: int) -> float:
    """Host RSS of a fresh process that opened one swegym sandbox and ran the command loop."""
    args = [sys.executable, __file__, "--part", "rss", "--image", image, "--peer-cmd-reps", str(cmd_reps)]
    if docker_host:
        args += ["--docker-host", docker_host]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def rss_part(image: str, docker_host: str | None, cmd_reps: int) -> None:
    import swegym

    namespace: dict[str, Any] = {}
    exec(_peers.TREE_RSS, namespace)
    task = next(t for t in swegym.load_tasks("demo") if t.instance_id == "swegym-demo__calc-1")
    runtime = swegym.create("runtime", "docker", base_url=docker_host, run_id="bench-runtime")
    with runtime.open(task, image=image) as sb:
        for _ in range(cmd_reps + 5):
            sb.run("true")
        print(namespace["tree_rss_mb"]())
    runtime.close()


def peer_rows(runtime: Any, task: Any, image: str, reps: int, cmd_reps: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Each tool's ready samples, taken in interleaved rounds (swegym, SWE-ReX, mini-swe-agent, again
    ...) so that the load of this shared machine, which swings within a minute, hits all alike; the
    peers' round trips and host RSS come from the last round."""
    rex_image = swerex_image(runtime.client, image)
    out: dict[str, dict[str, Any]] = {"swegym": {"ready": []}, "swe-rex": {"ready": []}, "mini-swe-agent": {"ready": []}}
    per_round = [reps // rounds + (1 if i < reps % rounds else 0) for i in range(rounds)]
    for i, n in enumerate(per_round):
        last = i == rounds - 1
        print(f"round {i + 1}/{rounds}: {n} sandboxes per tool", file=sys.stderr)
        for _ in range(n):
            t0 = time.perf_counter()
            sb = runtime.open(task, image=image)
            sb.run("true")
            out["swegym"]["ready"].append(time.perf_counter() - t0)
            sb.close()
        for name, driver, img in (("swe-rex", SWEREX_DRIVER, rex_image), ("mini-swe-agent", MINI_DRIVER, image)):
            got = _peers.run(name, driver, [img, str(n), str(cmd_reps if last else 0)])
            out[name]["ready"] += got["ready"]
            if last:
                out[name].update(cmd=got["cmd"], rss_mb=got["rss_mb"], version=got["version"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--docker-host", default=None)
    parser.add_argument("--peer-reps", type=int, default=10, help="sandboxes each peer opens for its ready time")
    parser.add_argument("--peer-rounds", type=int, default=3, help="interleaved rounds the ready samples are split into")
    parser.add_argument("--peer-cmd-reps", type=int, default=200, help="commands each peer runs for its round trip")
    parser.add_argument("--no-peers", action="store_true", help="swegym's own figures only")
    parser.add_argument("--part", choices=["rss"], help=argparse.SUPPRESS)
    parser.add_argument("--image", help=argparse.SUPPRESS)
    args = parser.parse_args()
    reps = max(args.reps, 1)
    if args.part == "rss":
        rss_part(args.image, args.docker_host, args.peer_cmd_reps)
        return

    import swegym

    task = next(t for t in swegym.load_tasks("demo") if t.instance_id == "swegym-demo__calc-1")
    runtime = swegym.create("runtime", "docker", base_url=args.docker_host, run_id="bench-runtime")
    image = runtime.ensure_image(task)
    api = runtime.client.api
    ready: list[float] = []
    warm: list[float] = []
    cmd: list[float] = []
    tty: list[float] = []
    exe: list[float] = []
    reset: list[float] = []

    for _ in tqdm(range(reps), desc="ready", file=sys.stderr):
        t0 = time.perf_counter()
        sb = runtime.open(task, image=image)
        sb.run("true")
        ready.append(time.perf_counter() - t0)
        sb.close()

    # The same, with a warm pool of one started container (refilled in the background while an
    # episode runs; here we wait for the refill, outside the timed region, as a real episode would).
    pooled = swegym.create("runtime", "docker", base_url=args.docker_host, run_id="bench-runtime", pool_size=1)
    pooled.open(task, image=image).close()
    for _ in tqdm(range(reps), desc="ready (warm pool)", file=sys.stderr):
        pooled.wait_pool()
        t0 = time.perf_counter()
        sb = pooled.open(task, image=image)
        sb.run("true")
        warm.append(time.perf_counter() - t0)
        sb.close()
    pooled.close()

    with runtime.open(task, image=image) as sb:
        for _ in range(5):  # warm up both paths
            sb.run("true")
            api.exec_start(api.exec_create(sb.container.id, ["true"])["Id"])
        # the OpenHands agent's pty terminal, through the fork's execute_bash rules (bashlex split, echo, prompt)
        from swegym_openhands.shell import ForkBash

        agent_shell = ForkBash(sb, "/testbed", timeout=120, output_limit=300_000)
        for _ in range(5):
            agent_shell.run("true")
        # interleaved, so both paths see the same machine load
        for _ in tqdm(range(max(reps, 200)), desc="cmd+tty", file=sys.stderr):
            t0 = time.perf_counter()
            r = sb.run("true")
            cmd.append(time.perf_counter() - t0)
            assert r.exit_code == 0
            t0 = time.perf_counter()
            out = agent_shell.run("true")
            tty.append(time.perf_counter() - t0)
            assert out.exit_code == 0
        for _ in tqdm(range(reps), desc="exec", file=sys.stderr):
            t0 = time.perf_counter()
            eid = api.exec_create(sb.container.id, ["true"])["Id"]
            api.exec_start(eid)
            code = api.exec_inspect(eid)["ExitCode"]  # a per-command exec needs this to learn the exit code
            exe.append(time.perf_counter() - t0)
            assert code == 0
        for i in tqdm(range(reps), desc="reset", file=sys.stderr):
            sb.run(f"echo {i} >> calc/stats.py && echo x > untracked_{i}.txt")
            t0 = time.perf_counter()
            sb.reset()
            reset.append(time.perf_counter() - t0)
        assert sb.diff() == ""
    peers: dict[str, dict[str, Any]] = {}
    if not args.no_peers:
        peers = peer_rows(runtime, task, image, args.peer_reps, args.peer_cmd_reps, args.peer_rounds)
        peers["swegym"]["rss_mb"] = swegym_rss(image, args.docker_host, args.peer_cmd_reps)
    runtime.close()

    rows = [("ready (open → shell answers)", ready), ("ready, warm pool (pool_size=1)", warm), ("cmd `true` via session", cmd),
            ("cmd `true` via pty (openhands bash)", tty),
            ("cmd `true` via fresh docker exec", exe), ("reset()", reset)]
    print(f"{'measure':<36} {'n':>5} {'p50 ms':>9} {'p90 ms':>9} {'min ms':>9}")
    for name, values in rows:
        print(f"{name:<36} {len(values):>5} {pct(values, .5):>9.2f} {pct(values, .9):>9.2f} {min(values) * 1000:>9.2f}")
    result = {
        "ready_p50_ms": round(pct(ready, .5), 2),
        "ready_warm_pool_p50_ms": round(pct(warm, .5), 2),
        "cmd_p50_ms": round(pct(cmd, .5), 3),
        "cmd_p90_ms": round(pct(cmd, .9), 3),
        "tty_cmd_p50_ms": round(pct(tty, .5), 3),
        "tty_speedup_vs_exec": round(pct(exe, .5) / pct(tty, .5), 1),
        "exec_p50_ms": round(pct(exe, .5), 2),
        "speedup_vs_exec": round(pct(exe, .5) / pct(cmd, .5), 1),
        "reset_p50_ms": round(pct(reset, .5), 2),
        "reps": reps,
        "load_avg_1m": round(__import__("os").getloadavg()[0], 2),
    }
    targets = {"cmd_p50_ms": result["cmd_p50_ms"] <= 5, "speedup_vs_exec": result["speedup_vs_exec"] >= 10,
               "tty_cmd_p50_ms": result["tty_cmd_p50_ms"] <= 5, "tty_speedup_vs_exec": result["tty_speedup_vs_exec"] >= 10,
               "ready_p50_ms": result["ready_p50_ms"] <= 500, "reset_p50_ms": result["reset_p50_ms"] <= 300}
    if peers:
        result["peers"], peer_targets = compare(peers, ready, cmd)
        targets.update(peer_targets)
    print("targets: " + ", ".join(f"{k} {'OK' if ok else 'MISSED'}" for k, ok in targets.items()))
    print(json.dumps(result))


def compare(peers: dict[str, dict[str, Any]], ready: list[float], cmd: list[float]) -> tuple[dict, dict]:
    """Print the side-by-side table; return the JSON ``peers`` block and the issue-19 targets."""
    print(f"\nside by side on the same task image (ready n={len(peers['swe-rex']['ready'])} per tool, in interleaved "
          f"rounds; round trip n={len(peers['swe-rex']['cmd'])})")
    print(f"{'tool':<24} {'version':>8} {'ready p50 ms':>13} {'cmd p50 ms':>11} {'cmd p90 ms':>11} {'host RSS MB':>12}")
    import swegym

    own = {"version": swegym.__version__,
           "ready_p50_ms": pct(peers["swegym"]["ready"], .5), "cmd_p50_ms": pct(cmd, .5), "cmd_p90_ms": pct(cmd, .9),
           "host_rss_mb": peers["swegym"]["rss_mb"]}
    block: dict[str, Any] = {}
    for name in ("swe-rex", "mini-swe-agent"):
        p = peers[name]
        block[name] = {"version": p["version"], "ready_p50_ms": round(pct(p["ready"], .5), 1),
                       "cmd_p50_ms": round(pct(p["cmd"], .5), 3), "cmd_p90_ms": round(pct(p["cmd"], .9), 3),
                       "host_rss_mb": round(p["rss_mb"], 1), "ready_reps": len(p["ready"]), "cmd_reps": len(p["cmd"])}
    for name, row in (("swegym", own), *block.items()):
        print(f"{name:<24} {str(row['version']):>8} {row['ready_p50_ms']:>13.1f} {row['cmd_p50_ms']:>11.3f} "
              f"{row['cmd_p90_ms']:>11.3f} {row['host_rss_mb']:>12.1f}")
    block["swegym"] = {"version": own["version"], "ready_p50_ms": round(own["ready_p50_ms"], 1),
                       "cmd_p50_ms": round(own["cmd_p50_ms"], 3), "cmd_p90_ms": round(own["cmd_p90_ms"], 3),
                       "host_rss_mb": round(own["host_rss_mb"], 1), "ready_reps": len(peers["swegym"]["ready"]),
                       "cmd_reps": len(cmd)}
    block["cmd_speedup_vs_swerex"] = round(block["swe-rex"]["cmd_p50_ms"] / own["cmd_p50_ms"], 1)
    block["cmd_speedup_vs_mini_swe_agent"] = round(block["mini-swe-agent"]["cmd_p50_ms"] / own["cmd_p50_ms"], 1)
    fastest = min(block["swe-rex"]["ready_p50_ms"], block["mini-swe-agent"]["ready_p50_ms"])
    block["ready_vs_fastest_peer"] = round(own["ready_p50_ms"] / fastest, 2)  # <= 1.0: no worse
    print(f"round trip: {block['cmd_speedup_vs_swerex']}x faster than SWE-ReX (target >= 5), "
          f"{block['cmd_speedup_vs_mini_swe_agent']}x than mini-swe-agent (target >= 50); "
          f"ready: {block['ready_vs_fastest_peer']}x the fastest peer's (target <= 1.0)")
    targets = {"cmd_vs_swerex": block["cmd_speedup_vs_swerex"] >= 5,
               "cmd_vs_mini_swe_agent": block["cmd_speedup_vs_mini_swe_agent"] >= 50,
               "ready_vs_fastest_peer": block["ready_vs_fastest_peer"] <= 1.0}
    return block, targets


if __name__ == "__main__":
    main()
