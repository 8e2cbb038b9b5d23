"""Real repositories: the shared SWE-Gym moto and SWE-bench Lite flask/requests/pytest rows build offline from
the shallow mirrors in ``../shared/data/repos`` and validate (gold resolves, empty does not).

Images are content-hashed, so a machine that built them once (and the package-cache volume) makes
later runs cache hits. Measured on the shared 2-core machine: cold (every layer and the Debian
base images missing) about 15 min for all six rows, most of it moto; warm (images cached) see
the report in docs/ENVIRONMENTS.md.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SWEGYM = [sys.executable, "-m", "swegym.cli"]
REAL = ROOT / "tests" / "data" / "real"
#: rows file in tests/data/real → its mirror in ../shared/data/repos, extra flags.
#: requests' TestTimeout (PASS_TO_PASS) connects to an unroutable address and wants a connect
#: timeout: with no interface at all the connect fails at once, so its containers sit on the
#: isolated internal bridge.
SLICE = {"getmoto__moto.jsonl": ("getmoto/moto", "getmoto+moto.git", []),
         "pallets__flask.jsonl": ("pallets/flask", "pallets+flask.git", []),
         "psf__requests.jsonl": ("psf/requests", "psf+requests.git", ["--offline-network", "isolated"]),
         "pytest-dev__pytest.jsonl": ("pytest-dev/pytest", "pytest-dev+pytest.git", [])}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_environments", ROOT / "benchmarks" / "environments.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_real_rows_have_gold_and_empty_logs():
    rows = [json.loads(line) for f in sorted(REAL.glob("*.jsonl")) for line in f.read_text().splitlines() if line]
    assert len(rows) >= 6
    for row in rows:
        for kind in ("gold", "empty"):
            log = REAL / "logs" / f"{row['instance_id']}.{kind}.log"
            assert log.is_file() and log.stat().st_size > 0, log


def test_coverage_table_merges_runs_newest_line_wins(tmp_path):
    bench = _bench()
    results = tmp_path / "r.jsonl"
    old = {"instance_id": "a__b-1", "repo": "a/b", "version": "1.0", "valid": False, "gold": "error",
           "empty": "unresolved", "reason": "build: make: command not found", "python_used": "3.11.2"}
    new = {**old, "valid": True, "gold": "resolved", "reason": "", "build_s": 12.5, "image_mb": 900}
    other = {"instance_id": "c__d-2", "repo": "c/d", "version": "2.0", "valid": False, "gold": "unresolved",
             "empty": "unresolved", "reason": "gold unresolved: x"}
    results.write_text("\n".join(json.dumps(r) for r in (old, other, new)) + "\n")
    text, summary = bench.render_table(bench.load_results(results))
    assert summary == {"a/b": {"valid": 1, "total": 1}, "c/d": {"valid": 0, "total": 1}}
    assert "make: command not found" not in text and "c__d-2: gold unresolved: x" in text
    assert "| a/b | 1.0 | 1/1 |" in text

def test_coverage_table_from_a_run_file_keeps_the_other_results(tmp_path):
    """``--results environments.X.jsonl`` (a branch's own file) still renders every repository."""
    bench = _bench()
    main = {"instance_id": "a__b-1", "repo": "a/b", "version": "1.0", "valid": True, "gold": "resolved",
            "empty": "unresolved", "reason": "", "measured_at": "2026-01-01T00:00:00+00:00"}
    other_run = {**main, "instance_id": "e__f-3", "repo": "e/f", "valid": False, "reason": "gold unresolved: y"}
    mine = {**main, "instance_id": "c__d-2", "repo": "c/d", "measured_at": "2026-01-02T00:00:00+00:00"}
    (tmp_path / "environments.jsonl").write_text(json.dumps(main) + "\n")
    (tmp_path / "environments.other.jsonl").write_text(json.dumps(other_run) + "\n")
    run = tmp_path / "environments.mine.jsonl"
    run.write_text(json.dumps(mine) + "\n")
    latest = bench.load_results(run)
    assert sorted(latest) == ["a__b-1", "c__d-2", "e__f-3"]
    assert sorted(latest) == sorted(bench.load_results(tmp_path / "environments.jsonl"))



@pytest.mark.docker
@pytest.mark.parametrize("rows_file", sorted(SLICE))
def test_real_rows_build_and_validate_offline(docker_client, base_image, shared_data, rows_file):
    repo, mirror, extra = SLICE[rows_file]
    out = subprocess.run([*SWEGYM, "validate", "-d", str(REAL / rows_file),
                          "--repo-source", f"{repo}={shared_data / 'repos' / mirror}",
                          "--runtime-opt", "use_published=false", "--workers", "2", "--timeout", "900", *extra],
                         capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    n = len((REAL / rows_file).read_text().splitlines())
    assert f"{n}/{n} task(s) valid" in out.stderr
