"""Benchmark the Docker sandbox (issue 3): session readiness, command round trip, reset.

Measured in one run on the demo calc task, ≥ 50 repetitions each:
  ready   create container → start → both shells answer (``runtime.open``), cold
  warm    the same with ``pool_size=1``: open() takes an already started container
  cmd     ``true`` through the persistent session
  tty     ``true`` as the OpenHands agent runs it: pty terminal + the fork's execute_bash rules
  exec    ``true`` through a fresh ``docker exec`` per command (the baseline: mini-swe-agent's way)
  reset   ``sandbox.reset()`` after touching a tracked file and adding an untracked one

Prints a table, then one JSON line with ready_p50_ms, cmd_p50_ms, cmd_p90_ms, tty_cmd_p50_ms,
tty_speedup_vs_exec, exec_p50_ms, speedup_vs_exec, reset_p50_ms.

    .venv/bin/python benchmarks/runtime.py [--reps 50] [--docker-host tcp://127.0.0.1:2375]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from tqdm import tqdm


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return (ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--docker-host", default=None)
    args = parser.parse_args()
    reps = max(args.reps, 1)

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
    print("targets: " + ", ".join(f"{k} {'OK' if ok else 'MISSED'}" for k, ok in targets.items()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
