"""Environment coverage: build and validate real instances; record results; regenerate docs/ENVIRONMENTS.md.

For every row of the given files: build its image offline (``--repo-source`` mirrors), run the gold
patch (must resolve) and the empty patch (must not), and append one JSON line per instance to the
results file (``benchmarks/results/environments.jsonl``). The coverage table in
``docs/ENVIRONMENTS.md`` is regenerated from *all* lines of that file (the newest line per instance
wins), so several runs (other repositories, other machines) merge by appending. Test logs go to
``--logs-dir`` as ``<instance_id>.gold.log`` / ``<instance_id>.empty.log``.

``--compare-installers`` also builds the environment and instance layers of the first row twice
under fresh image prefixes, with pip and with uv (each with a cold and a warm package cache
volume), and prints the seconds per layer.

Usage::

    python benchmarks/environments.py --rows ../shared/data/swegym-moto-sample.jsonl \\
        --repo-source getmoto/moto=../shared/data/repos/getmoto+moto.git --logs-dir tests/data/real/logs
    python benchmarks/environments.py --table-only          # regenerate the doc from the results file

Last line: one JSON object (instances, valid, per-repository summary, installer timings).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "environments.jsonl"
DOC = ROOT / "docs" / "ENVIRONMENTS.md"


def _reason(gold: Any, empty: Any) -> str:
    """A named cause for an invalid instance."""
    if gold.status == "error":
        return f"infrastructure: {(gold.error or '')[:300]}"
    if gold.status == "patch_apply_failed":
        return "gold patch does not apply"
    if gold.status != "resolved":
        st = (gold.details.get("tests_status") or {})
        f2p = st.get("FAIL_TO_PASS", {}).get("failure") or []
        p2p = st.get("PASS_TO_PASS", {}).get("failure") or []
        return f"gold unresolved: FAIL_TO_PASS failing {f2p[:3]}, PASS_TO_PASS failing {p2p[:3]}"
    if empty.status != "unresolved":
        return f"empty patch {empty.status}: the FAIL_TO_PASS tests do not fail without the fix"
    return ""


def _row_source(task: Any) -> str:
    """Where the row came from: the rows file's ``made_from``, a mined row, or a dataset."""
    extra = task.extra or {}
    if extra.get("made_from"):
        return str(extra["made_from"])
    if extra.get("problem_statement_source"):
        return f"swegym tasks mine (statement from the {extra['problem_statement_source']})"
    return "dataset row"


def validate_rows(tasks: list[Any], runtime_options: dict[str, Any], logs_dir: Path | None, timeout: float,
                  results: Path) -> list[dict[str, Any]]:
    import swegym
    from swegym.harness import evaluate_many

    rows = []
    for task in tasks:
        runtime = swegym.create("runtime", "docker", use_published=False, **runtime_options)
        started = time.monotonic()
        row: dict[str, Any] = {"instance_id": task.instance_id, "repo": task.repo, "version": task.version,
                               "row_source": _row_source(task),
                               "offline_network": runtime_options.get("offline_network", "none")}
        try:
            spec = runtime.spec_for(task)
            row.update(python_requested=spec.python, spec_source=spec.source, spec_approximate=spec.approximate)
            image = runtime.ensure_image(task)
            row["build_s"] = round(time.monotonic() - started, 1)
            row["layers"] = runtime.builder.timings
            img = runtime.client.images.get(image)
            labels = img.labels or {}
            cold = [float(labels[k]) for k in ("swegym.build.env_s", "swegym.build.instance_s") if labels.get(k)]
            row.update(image=image, image_mb=round(img.attrs.get("Size", 0) / 1e6),
                       cold_build_s=round(sum(cold), 1) if cold else None,
                       python_used=labels.get("swegym.python"), python_source=labels.get("swegym.python.source"))
            gold = evaluate_many([(task, task.patch)], runtime, timeout=timeout, progress=False)[task.instance_id]
            empty = evaluate_many([(task, "")], runtime, timeout=timeout, run_empty=True,
                                  progress=False)[task.instance_id]
            row.update(gold=gold.status, empty=empty.status)
            row["reason"] = _reason(gold, empty)
            row["valid"] = not row["reason"]
            if logs_dir is not None:
                logs_dir.mkdir(parents=True, exist_ok=True)
                (logs_dir / f"{task.instance_id}.gold.log").write_text(gold.log)
                (logs_dir / f"{task.instance_id}.empty.log").write_text(empty.log)
        except Exception as exc:  # a build failure is a coverage result, not a crash
            row.update(valid=False, gold=row.get("gold", "not run"), empty=row.get("empty", "not run"),
                       reason=f"build: {str(exc)[:400]}", build_s=round(time.monotonic() - started, 1))
        finally:
            runtime.close()
        row["measured_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        results.parent.mkdir(parents=True, exist_ok=True)
        with results.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{task.instance_id:<40} {row.get('python_used') or '-':<8} build {row.get('build_s', 0):>6}s "
              f"gold {row['gold']:<12} empty {row['empty']:<12} {'valid' if row['valid'] else 'INVALID ' + row['reason'][:120]}",
              flush=True)
        rows.append(row)
    return rows


def compare_installers(task: Any, runtime_options: dict[str, Any]) -> list[dict[str, Any]]:
    """Seconds per env/instance layer with pip and with uv, cold and warm package cache."""
    import swegym

    out = []
    for installer in ("pip", "uv"):
        volume = f"swegym-bench-cache-{uuid.uuid4().hex[:8]}"
        for cache in ("cold", "warm"):
            prefix = f"swegymbench{uuid.uuid4().hex[:8]}"
            rt = swegym.create("runtime", "docker", use_published=False, image_prefix=prefix, installer=installer,
                               cache_volume=volume, **runtime_options)
            try:
                plan = rt.builder.plan(task)
                shared_base = plan.base_tag.replace(f"{prefix}/", "swegym/", 1)
                try:  # reuse the base layer (same content hash): only env and instance are measured
                    rt.client.images.get(shared_base).tag(*plan.base_tag.rsplit(":", 1))
                except Exception:
                    pass
                rt.ensure_image(task)
                secs = {t["layer"]: t["seconds"] for t in rt.builder.timings}
                out.append({"installer": installer, "cache": cache, "env_s": secs.get("env"),
                            "instance_s": secs.get("instance"), "base_s": secs.get("base")})
            finally:
                for layer in ("instance", "env", "base"):  # children first
                    for img in rt.client.images.list(filters={"label": f"swegym.prefix={prefix}"}):
                        if img.labels.get("swegym.layer") == layer:
                            rt.client.images.remove(img.id, force=True)
                for img in rt.client.images.list(name=f"{prefix}/sweb.base"):  # the borrowed base tag
                    for tag in img.tags:
                        if tag.startswith(f"{prefix}/"):
                            rt.client.images.remove(tag)
                rt.close()
        try:
            rt.client.volumes.get(volume).remove(force=True)
        except Exception:
            pass
    return out


def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """Newest line per instance of ``path`` and of its siblings ``<stem>.*.jsonl`` (results of other
    runs kept in their own files, so branches that add results do not edit the same file)."""
    latest: dict[str, dict[str, Any]] = {}
    # ``--results environments.X.jsonl`` (one run's own file) still merges the main file and its siblings
    base = path.stem.split(".")[0]
    files = [path]
    if path.parent.exists():
        files += [f for f in [path.with_name(f"{base}.jsonl"), *sorted(path.parent.glob(f"{base}.*.jsonl"))]
                  if f != path]
    rows = []
    for file in files:
        if file.exists():
            rows += [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    for row in sorted(rows, key=lambda r: r.get("measured_at") or ""):  # stable: file order within a time
        latest[row["instance_id"]] = row
    return latest


def _vkey(v: str | None) -> tuple:
    from swegym.specs import _version_key

    return _version_key(v or "0")


def _python_note(row: dict[str, Any]) -> str:
    """Say so when the image's Python is not the one the spec asked for (a likely cause)."""
    want, used = row.get("python_requested"), row.get("python_used")
    if want and used and not used.startswith(want + "."):
        return f" (spec asks Python {want}; the image has {used}: the nearest available)"
    return ""


def render_table(latest: dict[str, dict[str, Any]],
                 installers: list[dict[str, Any]] | None = None) -> tuple[str, dict[str, Any]]:
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in latest.values():
        by_repo[row["repo"]].append(row)
    lines = [
        "# Environment coverage (generated)",
        "",
        "Generated by `benchmarks/environments.py` from `benchmarks/results/environments.jsonl` (newest line per",
        "instance); do not edit by hand. Each instance was built offline from a local mirror and validated:",
        "the gold patch must resolve, the empty patch must not. Python: requested by the spec / used in the",
        "image (`debian` = the nearest Debian suite's python3, `uv` = a uv-managed exact version).",
        "With `--python-source auto`, a version no Debian suite has (bullseye 3.9, bookworm 3.11, trixie 3.13)",
        "is first asked of `uv python install`, which downloads from GitHub: where that host is unreachable",
        "(this machine) the nearest suite is used, and the Python column shows it. Base images: SWE-bench's",
        "system packages (build-essential, make, …) on Debian instead of Ubuntu 22.04 + conda.",
        "",
        "| repository | versions | instances valid | Python requested → used | env+instance build s | image MB | failures |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for repo in sorted(by_repo, key=str.lower):
        rows = sorted(by_repo[repo], key=lambda r: _vkey(r.get("version")))
        versions = sorted({r.get("version") or "?" for r in rows}, key=_vkey)
        vrange = versions[0] if len(versions) == 1 else f"{versions[0]} – {versions[-1]}"
        valid = sum(1 for r in rows if r.get("valid"))
        pythons = sorted({f"{r.get('python_requested') or '-'} → {r.get('python_used') or '-'}"
                          f" ({r.get('python_source') or '-'})" for r in rows})
        builds = [r.get("cold_build_s") or r.get("build_s") for r in rows
                  if (r.get("cold_build_s") or r.get("build_s")) is not None]
        sizes = [r.get("image_mb") for r in rows if r.get("image_mb")]
        notes = sorted({f"{r['instance_id']}: tests ran with --offline-network isolated" for r in rows
                        if r.get("offline_network") == "isolated"})
        fails = "; ".join(f"{r['instance_id']}: {r.get('reason')}{_python_note(r)}" for r in rows
                          if not r.get("valid")) or "—"
        if notes:
            fails += "<br>" + "; ".join(notes)
        lines.append(f"| {repo} | {vrange} | {valid}/{len(rows)} | {'<br>'.join(pythons)} | "
                     f"{max(builds) if builds else '-'} | {max(sizes) if sizes else '-'} | {fails.replace('|', '/')} |")
        summary[repo] = {"valid": valid, "total": len(rows)}
    lines += ["", "## Instances", "", "| instance | version | Python used | env+instance build s (this run) | image MB | gold | empty | measured |",
              "|---|---|---|---|---|---|---|---|"]
    for row in sorted(latest.values(), key=lambda r: (r["repo"].lower(), _vkey(r.get("version")), r["instance_id"])):
        lines.append(f"| {row['instance_id']} | {row.get('version')} | {row.get('python_used') or '-'} | "
                     f"{row.get('cold_build_s') or '-'} ({row.get('build_s', '-')}) | {row.get('image_mb', '-')} | "
                     f"{row.get('gold')} | {row.get('empty')} | "
                     f"{(row.get('measured_at') or '')[:10]} |")
    if installers:
        lines += ["", "## Installers (seconds per layer, one run)", "",
                  "| installer | package cache | env layer s | instance layer s |", "|---|---|---|---|"]
        for r in installers:
            lines.append(f"| {r['installer']} | {r['cache']} | {r['env_s']} | {r['instance_s']} |")
    lines += ["", "Build seconds: the environment layer (shared by a repository version) plus the instance layer,",
              "as recorded in the image labels when they were built (on a shared 2-core machine, so upper bounds);",
              "in brackets, the wall time of this run (near 0 on a cache hit). The base layer (system packages,",
              "~1-2 min once per Debian suite) and debootstrap of a missing suite (~3 min once) are not included."]
    return "\n".join(lines) + "\n", summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", action="append", default=[], help="rows file (JSON/JSONL), repeatable")
    ap.add_argument("--instance-id", action="append", default=[], help="only these instances")
    ap.add_argument("--repo-source", action="append", default=[], metavar="OWNER/NAME=PATH")
    ap.add_argument("--python-source", choices=["auto", "debian", "uv"], default="auto")
    ap.add_argument("--installer", choices=["uv", "pip"], default="uv")
    ap.add_argument("--offline-network", choices=["none", "isolated"], default="none",
                    help="how test containers are cut off (isolated: connections time out, see docs)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--logs-dir", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--compare-installers", action="store_true")
    ap.add_argument("--table-only", action="store_true", help="only regenerate the doc from the results file")
    args = ap.parse_args(argv)

    from swegym.repos import parse_repo_sources
    from swegym.tasks import load_tasks

    options = {"repo_sources": parse_repo_sources(args.repo_source), "python_source": args.python_source,
               "installer": args.installer, "offline_network": args.offline_network}
    rows: list[dict[str, Any]] = []
    installers: list[dict[str, Any]] = []
    if not args.table_only:
        tasks = [t for f in args.rows for t in load_tasks(f, instance_ids=args.instance_id or None)]
        if args.compare_installers and tasks:
            installers = compare_installers(tasks[0], {k: v for k, v in options.items() if k != "installer"})
            print(f"{'installer':<10} {'cache':<6} {'env s':>8} {'instance s':>11}")
            for r in installers:
                print(f"{r['installer']:<10} {r['cache']:<6} {r['env_s']!s:>8} {r['instance_s']!s:>11}")
            inst_path = args.results.with_name("installers.json")
            inst_path.parent.mkdir(parents=True, exist_ok=True)
            inst_path.write_text(json.dumps({"instance_id": tasks[0].instance_id, "rows": installers}, indent=1) + "\n")
        rows = validate_rows(tasks, options, args.logs_dir, args.timeout, args.results)
    inst_path = args.results.with_name("installers.json")
    if not installers and inst_path.exists():
        installers = json.loads(inst_path.read_text())["rows"]
    text, summary = render_table(load_results(args.results), installers)
    args.doc.write_text(text)
    print(json.dumps({"instances": len(rows), "valid": sum(1 for r in rows if r.get("valid")),
                      "repositories": summary, "installers": installers}))
    return 0 if all(r.get("valid") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
