"""Mining throughput: candidates/hour and kept/hour on a real repository at 1 and 2 workers.

Each worker setting mines the same few pull requests from scratch (its own output folder and
image prefix, so the instance images are built again and the setting pays for its builds; the
base/env layers of the first setting may serve the second, as they would in a long run).
``--reuse-images`` keeps the default prefix instead: environments built before are reused, so it
measures the execution part (4 test runs per candidate) alone. The
baseline is the 1-worker run; the speed-up is 2 workers over it. With ``--fidelity DATASET``
it instead mines the pull requests behind the dataset's rows and compares: FAIL_TO_PASS equal,
patch/test_patch equal up to ``index`` lines and hunk-header context where the offline base is
the dataset's base_commit, PASS_TO_PASS overlap.

    python benchmarks/mine.py --source /work/.mirror/getmoto+moto/repo --prs 6190,6208
    python benchmarks/mine.py --source MIRROR --until 2023-11-20 --limit 4 --reuse-images
    python benchmarks/mine.py --source MIRROR --fidelity ../shared/data/swegym-moto-sample.jsonl

Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

import swegym
from swegym.mining import mine_tasks


def _remove_prefix(prefix: str) -> None:
    import docker

    client = docker.from_env()
    for image in client.images.list(filters={"label": f"swegym.prefix={prefix}"}):
        try:
            client.images.remove(image.id, force=True)
        except Exception:  # noqa: BLE001 - an image still shared by a layer of another run
            pass


def throughput(args) -> dict:
    rows = []
    for workers in args.workers:
        prefix = "swegym" if args.reuse_images else f"swegymbench{uuid.uuid4().hex[:6]}"
        out = Path(tempfile.mkdtemp(prefix="swegym-mine-bench-")) / "tasks.jsonl"
        runtime = swegym.create("runtime", "docker", repo_sources={args.repo: Path(args.source)}, image_prefix=prefix)
        t0 = time.perf_counter()
        try:
            res = mine_tasks(args.repo, out, source=args.source, prs=args.prs or None, limit=args.limit, until=args.until,
                             workers=workers, runtime=runtime, github=False, progress=False, timeout=args.timeout)
        finally:
            runtime.close()
            if not (args.keep_images or args.reuse_images):
                _remove_prefix(prefix)
        wall = time.perf_counter() - t0
        s = res.summary
        rows.append({"workers": workers, "candidates": s["candidates"], "kept": s["kept"], "wall_s": round(wall, 1),
                     "build_s": s["build_s"], "test_s": s["test_s"],
                     "candidates_per_hour": round(s["candidates"] * 3600 / wall, 2),
                     "kept_per_hour": round(s["kept"] * 3600 / wall, 2), "report": str(res.report_path)})
    print(f"{'workers':>7} {'cand':>5} {'kept':>5} {'wall_s':>8} {'build_s':>8} {'test_s':>8} {'cand/h':>8} {'kept/h':>8}")
    for r in rows:
        print(f"{r['workers']:>7} {r['candidates']:>5} {r['kept']:>5} {r['wall_s']:>8} {r['build_s']:>8} {r['test_s']:>8} "
              f"{r['candidates_per_hour']:>8} {r['kept_per_hour']:>8}")
    base = rows[0]["candidates_per_hour"] or float("nan")
    return {"repo": args.repo, "reuse_images": args.reuse_images, "runs": rows, "speedup": round(rows[-1]["candidates_per_hour"] / base, 2) if len(rows) > 1 else None}


def _norm(patch: str) -> str:
    """Drop ``index`` lines and the context after hunk headers ("@@ -1,2 +1,3 @@ def f():")."""
    return "\n".join(re.sub(r"^(@@ [^@]* @@).*$", r"\1", line) for line in patch.splitlines() if not line.startswith("index "))


def fidelity(args) -> dict:
    data = [json.loads(line) for line in Path(args.fidelity).read_text().splitlines() if line.strip()]
    prs = [int(r["instance_id"].rsplit("-", 1)[1]) for r in data]
    out = Path(args.output or tempfile.mkdtemp(prefix="swegym-mine-fidelity-")) / "tasks.jsonl"
    res = mine_tasks(args.repo, out, source=args.source, prs=prs, workers=args.workers[0], github=False,
                     runtime_options={"repo_sources": {args.repo: Path(args.source)}}, timeout=args.timeout)
    report = json.loads(res.report_path.read_text())["candidates"]
    mined = {r["instance_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    rows = []
    for r in data:
        iid = r["instance_id"]
        m, rep = mined.get(iid), report.get(iid, {})
        f2p = sorted(r["FAIL_TO_PASS"] if isinstance(r["FAIL_TO_PASS"], list) else json.loads(r["FAIL_TO_PASS"]))
        p2p = set(r["PASS_TO_PASS"] if isinstance(r["PASS_TO_PASS"], list) else json.loads(r["PASS_TO_PASS"]))
        same_base = rep.get("base_commit") == r["base_commit"]
        row = {"instance_id": iid, "decision": rep.get("decision"), "reason": rep.get("reason"), "same_base": same_base,
               "version": (m or {}).get("version") or rep.get("version"), "dataset_version": r["version"]}
        if m:
            mp = set(m["PASS_TO_PASS"])
            row.update(f2p_equal=sorted(m["FAIL_TO_PASS"]) == f2p, patch_equal=_norm(m["patch"]) == _norm(r["patch"]),
                       test_patch_equal=_norm(m["test_patch"]) == _norm(r["test_patch"]),
                       p2p_dataset=len(p2p), p2p_mined=len(mp), p2p_common=len(p2p & mp),
                       p2p_overlap=round(len(p2p & mp) / max(len(p2p | mp), 1), 3), flaky=len(rep.get("flaky") or []))
        rows.append(row)
    print(f"{'instance':<22} {'base=':>5} {'ver':>9} {'F2P=':>5} {'patch=':>6} {'tpatch=':>7} {'P2P ds/mined/common':>20} {'jacc':>5}")
    for r in rows:
        print(f"{r['instance_id']:<22} {str(r['same_base']):>5} {str(r['version']) + '/' + r['dataset_version']:>9} "
              f"{str(r.get('f2p_equal')):>5} {str(r.get('patch_equal')):>6} {str(r.get('test_patch_equal')):>7} "
              f"{str(r.get('p2p_dataset')) + '/' + str(r.get('p2p_mined')) + '/' + str(r.get('p2p_common')):>20} "
              f"{str(r.get('p2p_overlap')):>5}  {r['decision']} {r['reason'] or ''}")
    return {"fidelity": str(args.fidelity), "rows": rows, "output": str(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default="getmoto/moto")
    ap.add_argument("--source", required=True, help="local clone or bare mirror of --repo")
    ap.add_argument("--prs", type=lambda s: [int(x) for x in s.split(",") if x], default=None,
                    help="comma-separated PR numbers to mine (default: the newest --limit candidates)")
    ap.add_argument("--limit", type=int, default=2, help="candidates to decide per setting (without --prs)")
    ap.add_argument("--until", default=None, help="only commits before this date (e.g. 2023-11-20: the moto 4.2 era)")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--keep-images", action="store_true")
    ap.add_argument("--reuse-images", action="store_true",
                    help="use the default image prefix (environments already built are reused: measures the test part)")
    ap.add_argument("--fidelity", default=None, help="a SWE-Gym JSONL file whose PRs to mine and compare")
    ap.add_argument("--output", default=None, help="fidelity mode: folder for tasks.jsonl / mine-report.json (resumable)")
    args = ap.parse_args()
    result = fidelity(args) if args.fidelity else throughput(args)
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
