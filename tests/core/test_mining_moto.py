"""Fidelity of candidate construction on the real moto history (no containers): for the pull
requests behind the shared SWE-Gym moto rows, the mined patch / test_patch equal the dataset's up to
``index`` lines and hunk-header context, the version is the dataset's, and the offline base is the
dataset's base_commit where the PR was squash-merged onto it.

Needs a full moto mirror (the shallow one in shared data lacks the PR commits): SWEGYM_MOTO_MIRROR
or /work/.mirror/getmoto+moto/repo (the `fetch` tool's location); skipped without one.
FAIL_TO_PASS / PASS_TO_PASS fidelity needs real moto environments: benchmarks/mine.py --fidelity.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from swegym.mining import candidates as cands
from swegym.mining import git as mgit
from swegym.mining.versions import version_at

MIRROR = Path(os.environ.get("SWEGYM_MOTO_MIRROR", "/work/.mirror/getmoto+moto/repo"))


def _norm(patch: str) -> str:
    return "\n".join(re.sub(r"^(@@ [^@]* @@).*$", r"\1", line) for line in patch.splitlines() if not line.startswith("index "))


@pytest.fixture(scope="module")
def mirror():
    if not (MIRROR / "HEAD").exists() and not (MIRROR / ".git").exists():
        pytest.skip(f"no full moto mirror at {MIRROR} (set SWEGYM_MOTO_MIRROR)")
    return MIRROR


def test_moto_rows_patches_versions_bases(shared_data, mirror):
    rows = [json.loads(line) for line in (shared_data / "swegym-moto-sample.jsonl").read_text().splitlines()]
    wanted = {int(r["instance_id"].rsplit("-", 1)[1]): r for r in rows}
    found = {}
    for commit, kind, number in cands.find_candidates(mirror, "getmoto/moto", prs=wanted):
        found[number] = cands.make_candidate(mirror, "getmoto/moto", commit, kind, number)[0]
    assert sorted(found) == sorted(wanted)
    same_base = 0
    for number, row in wanted.items():
        cand = found[number]
        assert cand.instance_id == row["instance_id"]
        assert _norm(cand.patch) == _norm(row["patch"]), number
        assert _norm(cand.test_patch) == _norm(row["test_patch"]), number
        assert version_at(mirror, "getmoto/moto", cand.base_commit) == row["version"], number
        same_base += cand.base_commit == row["base_commit"]
    assert same_base == 2  # 6190 and 6208; 7023's PR was based on an older commit (the API gives it)
