"""Harness overhead per evaluation on the demo tasks: wall time minus the test command's own time.

Target (issue 4): overhead_p50_s <= 1.0, measured the way ``swegym eval`` runs (evaluate_many:
the next job's sandbox is opened while the current tests run); single evaluate() calls, with
nothing opened ahead, are reported too. The baseline, measured in the same run, is the naive
way to do the same steps on the same runtime: files copied in with ``Sandbox.write_file`` (an
archive upload per file) and the container removed before returning, as SWE-bench's harness does.

    python benchmarks/harness.py [--rounds 3] [--workers 1]

Last line: one JSON object {overhead_p50_s, overhead_p90_s, evals, baseline_overhead_p50_s, ...}.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import swegym
from swegym.harness import evaluate, evaluate_many, make_eval_spec
from swegym.harness.evaluate import PATCH_PATH, TEST_PATCH_PATH


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def naive_eval(task, runtime) -> tuple[float, float, bool]:
    """The same steps, the straightforward way; returns (wall, test time, resolved)."""
    from swegym.harness import grade, get_parser

    spec = make_eval_spec(task)
    t0 = time.perf_counter()
    sb = runtime.open(task, network=False)
    try:
        sb.write_file(PATCH_PATH, task.patch)
        sb.run(f"cd /testbed && git apply --verbose {PATCH_PATH}", timeout=300)
        reset = spec.reset_command(task.base_commit)
        if reset:
            sb.run(f"cd /testbed && {reset}", timeout=300)
        sb.write_file(TEST_PATCH_PATH, task.test_patch)
        sb.run(f"cd /testbed && git apply -v {TEST_PATCH_PATH}", timeout=300)
        res = sb.run(f"cd /testbed && {spec.test_command}", timeout=1800, output_limit=50_000_000)
        ok = grade(get_parser(task.repo)(res.output), task.FAIL_TO_PASS, task.PASS_TO_PASS, exit_code=res.exit_code).resolved
    finally:
        sb.close()
    return time.perf_counter() - t0, res.duration_s, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="evaluations per demo task")
    ap.add_argument("--runtime", default="docker")
    args = ap.parse_args()

    tasks = swegym.load_tasks("demo")
    runtime = swegym.create("runtime", args.runtime, run_id="bench-harness")
    print(f"preparing images for {len(tasks)} demo tasks ...", file=sys.stderr)
    for t in tasks:
        runtime.ensure_image(t)
    evaluate(tasks[0], tasks[0].patch, runtime)  # warm-up (first exec, page cache)

    jobs = [(t, t.patch) for _ in range(args.rounds) for t in tasks]
    # 1. the harness as `swegym eval` runs it: evaluate_many (sandbox for the next job opened ahead)
    t_run = time.perf_counter()
    results = []
    evaluate_many(jobs, runtime, workers=1, progress=False, run_id="bench-harness",
                  on_result=lambda t, r: results.append((t.instance_id, r)))
    run_wall = time.perf_counter() - t_run
    rows = []
    for iid, res in results:
        if res.status != "resolved":
            raise SystemExit(f"{iid}: gold patch gave {res.status}: {res.error}")
        rows.append((iid, res.duration_s, res.test_duration_s))
        print(f"  pipelined {iid:<26} wall {res.duration_s:6.3f}s  test {res.test_duration_s:6.3f}s", file=sys.stderr)
    # 2. one evaluate() call at a time, nothing opened ahead
    single_rows = []
    for t in tasks:
        res = evaluate(t, t.patch, runtime)
        single_rows.append((t.instance_id, res.duration_s, res.test_duration_s))
    runtime.drain()
    # 3. baseline: the naive way
    base_rows = []
    for t in tasks:
        wall, test_s, ok = naive_eval(t, runtime)
        base_rows.append((t.instance_id, wall, test_s))
    runtime.close()

    over = [w - s for _, w, s in rows]
    single = [w - s for _, w, s in single_rows]
    base = [w - s for _, w, s in base_rows]
    amortized = run_wall / len(rows) - statistics.mean(s for _, _, s in rows)
    print()
    print(f"{'':<24}{'evals':>6}{'p50 s':>9}{'p90 s':>9}{'mean s':>9}")
    for label, vals in (("harness (eval run)", over), ("harness (single call)", single),
                        ("baseline (naive)", base)):
        print(f"{label:<24}{len(vals):>6}{pct(vals, .5):>9.3f}{pct(vals, .9):>9.3f}{statistics.mean(vals):>9.3f}")
    tests = [s for _, _, s in rows]
    print(f"{'test command (own)':<24}{len(tests):>6}{pct(tests, .5):>9.3f}{pct(tests, .9):>9.3f}{statistics.mean(tests):>9.3f}")
    print(f"amortized overhead of the eval run (wall/evals - mean test time): {amortized:.3f} s")
    print(f"target overhead_p50_s <= 1.0: {'met' if pct(over, .5) <= 1.0 else 'NOT met'}")
    print(json.dumps({
        "overhead_p50_s": round(pct(over, .5), 3),
        "overhead_p90_s": round(pct(over, .9), 3),
        "evals": len(over),
        "single_call_overhead_p50_s": round(pct(single, .5), 3),
        "amortized_overhead_s": round(amortized, 3),
        "baseline_overhead_p50_s": round(pct(base, .5), 3),
        "baseline_evals": len(base),
        "test_p50_s": round(pct(tests, .5), 3),
    }))


if __name__ == "__main__":
    main()
