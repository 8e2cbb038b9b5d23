"""``swegym report``: hand-checked tables, PNG plots, and an offline HTML report loaded in headless Chromium."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from swegym import Trajectory
from swegym.cli import cli
from swegym.report import build_report

# task -> outcomes of samples 0..3 and verifier scores
OUTCOMES = {
    "getmoto__moto-1": ([True, False, False, True], [0.9, 0.2, 0.3, 0.8]),
    "getmoto__moto-2": ([False, True, False, False], [0.6, 0.5, 0.1, 0.2]),   # verifier picks sample 0: wrong
    "python__mypy-3": ([False, False, False, False], [0.1, 0.2, 0.3, 0.4]),
}


def make_run(folder: Path, with_scores: bool = True, infra_error: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows, scores = [], []
    for tid, (outcomes, sc) in OUTCOMES.items():
        for i, (ok, s) in enumerate(zip(outcomes, sc)):
            model = "gpt-4o" if i % 2 == 0 else "qwen-32b"
            t = Trajectory(
                instance_id=tid, run_id="run-1", scaffold="openhands" if tid != "python__mypy-3" else "moatless",
                model=model, stop_reason="finish", patch="diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
                messages=[
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": f"Fix {tid} <script>alert('x')</script>"},
                    {"role": "assistant", "content": "Let me look.", "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "execute_bash", "arguments": json.dumps({"command": "pytest -q"})}}]},
                    {"role": "tool", "tool_call_id": "c1", "name": "execute_bash", "content": "1 passed\n" * 400},
                    {"role": "assistant", "content": "Done."},
                ],
                metadata={"sample_index": i, "repo": tid.split("__")[0] + "/" + tid.split("__")[1].rsplit("-", 1)[0],
                          "usage": {"prompt_tokens": 100, "completion_tokens": 10, "cost": 0.01}},
                evaluation={"status": "resolved" if ok else "unresolved",
                            "tests": {"tests/test_f.py::test_x": "PASSED" if ok else "FAILED"}},
            )
            rows.append(t.to_dict())
            scores.append({"row": len(rows) - 1, "instance_id": tid, "sample_index": i, "run_id": "run-1",
                           "score": s, "verifier": "hand"})
    if infra_error:  # a fifth rollout of task 1 whose grading failed: listed, never counted
        bad = Trajectory(instance_id="getmoto__moto-1", run_id="run-1", scaffold="openhands", model="gpt-4o",
                         metadata={"sample_index": 4, "repo": "getmoto/moto"}, evaluation={"status": "error"})
        rows.append(bad.to_dict())
        scores.append({"row": len(rows) - 1, "instance_id": "getmoto__moto-1", "sample_index": 4, "score": 0.99})
    (folder / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if with_scores:
        (folder / "scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in scores))
    return folder


def test_summary_matches_hand_computed_values(tmp_path):
    result = build_report([make_run(tmp_path / "run")], tmp_path / "out")
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s == json.loads(json.dumps(result["summary"]))
    run = s["runs"]["run"]
    # 12 graded rollouts, 3 resolved; the infrastructure error is excluded.
    assert (run["resolve_rate"]["graded"], run["resolve_rate"]["resolved"], run["resolve_rate"]["infra_errors"]) == (12, 3, 1)
    assert s["statuses"] == {"error": 1, "resolved": 3, "unresolved": 9}
    by_model = {r["name"]: r for r in s["by_model"]}
    assert by_model["gpt-4o"]["resolve_rate"] == pytest.approx(1 / 6)   # samples 0,2: only moto-1 #0
    assert by_model["qwen-32b"]["resolve_rate"] == pytest.approx(2 / 6)  # moto-1 #3, moto-2 #1
    by_repo = {r["name"]: r for r in s["by_repo"]}
    assert by_repo["getmoto/moto"]["resolve_rate"] == pytest.approx(3 / 8) and by_repo["python/mypy"]["resolve_rate"] == 0
    assert {r["name"] for r in s["by_scaffold"]} == {"openhands", "moatless"}
    curves = {c["k"]: c for c in run["curves"]}
    assert sorted(curves) == [1, 2, 3, 4]
    # k=1: sample 0 only -> moto-1 resolved -> 1/3, no spread. k=4: moto-1 and moto-2 -> 2/3.
    assert (curves[1]["pass_at_k"], curves[1]["pass_at_k_std"]) == (pytest.approx(1 / 3), 0.0)
    assert (curves[4]["pass_at_k"], curves[4]["pass_at_k_std"]) == (pytest.approx(2 / 3), 0.0)
    # best@4: moto-1 picks 0.9 (resolved), moto-2 picks 0.6 (unresolved), mypy nothing -> 1/3.
    assert (curves[4]["best_at_k"], curves[4]["best_at_k_std"]) == (pytest.approx(1 / 3), 0.0)
    assert curves[2]["pass_at_k_unbiased"] == pytest.approx((1 - 1 / 6 + 0.5 + 0) / 3)  # C(2,2)/C(4,2)=1/6; 1-C(3,2)/C(4,2)=.5
    # Positives 0.9, 0.8, 0.5 against 9 negatives; only 0.5 < 0.6 is misordered -> 26/27.
    assert run["verifier"]["auc"] == pytest.approx(26 / 27)
    assert s["usage"]["prompt_tokens"] == 1200 and s["usage"]["completion_tokens"] == 120
    assert s["usage"]["cost"] == pytest.approx(0.12)


def test_plots_are_real_pngs(tmp_path):
    from PIL import Image

    build_report([make_run(tmp_path / "run")], tmp_path / "out")
    for name in ("pass_at_k.png", "best_at_k.png"):
        path = tmp_path / "out" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as img:
            img.load()
            assert img.size[0] >= 400 and img.size[1] >= 300
            colors = img.convert("RGB").getcolors(maxcolors=1 << 20)
            assert colors is not None and len(colors) > 50  # lines, labels, bands: not a blank canvas


def test_html_is_offline_and_escaped(tmp_path):
    build_report([make_run(tmp_path / "run")], tmp_path / "out")
    out = tmp_path / "out"
    pages = [out / "index.html"] + sorted((out / "trajectories").glob("*.html"))
    assert len(pages) == 1 + 13
    for page in pages:
        html = page.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), page
        assert "Content-Security-Policy" in html and "default-src 'none'" in html
        assert "<script>alert" not in html  # trajectory text is escaped
    first = (out / "trajectories" / "00000.html").read_text()
    assert "execute_bash" in first and "pytest -q" in first and "tests/test_f.py::test_x" in first
    assert '<span class="add">+x = 2</span>' in first
    index = (out / "index.html").read_text()
    assert index.count('href="trajectories/') >= 13 and "data:image/png;base64," in index


def test_report_cli_on_real_swegym_rows_and_a_run(tmp_path, shared_data):
    released = shared_data / "openhands-trajectories-mixed.jsonl"
    scores = tmp_path / "mixed.scores.jsonl"
    # Score the released rows by position (two rows share instance_id and run_id).
    rows = [json.loads(line) for line in released.open()]
    scores.write_text("".join(json.dumps({"row": i, "instance_id": r["instance_id"], "score": 0.8 if r["resolved"] else 0.3})
                              + "\n" for i, r in enumerate(rows)))
    run = make_run(tmp_path / "run")
    result = CliRunner().invoke(cli, ["report", str(released), str(run), "--scores", str(scores), "--scores",
                                      str(run / "scores.jsonl"), "-o", str(tmp_path / "out"), "--trials", "50"])
    assert result.exit_code == 0, result.output
    assert "openhands-trajectories-mixed: 6/10 resolved (60.0%)" in result.output
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    mixed = s["runs"]["openhands-trajectories-mixed"]
    assert mixed["verifier"]["auc"] == 1.0 and len(mixed["curves"]) == 10
    assert mixed["curves"][-1]["best_at_k"] == 1.0 and mixed["curves"][0]["pass_at_k_unbiased"] == pytest.approx(0.6)
    assert len(list((tmp_path / "out" / "trajectories").glob("*.html"))) == 10 + 13
    page = (tmp_path / "out" / "trajectories" / "00000.html").read_text()
    assert "mypy/test/testcheck.py::TypeCheckSuite::testTwoUncomfortablyIncompatibleProtocolsWithoutRunningInIssue9771" in page


def test_report_cli_errors_are_clear(tmp_path):
    run = make_run(tmp_path / "run", with_scores=False)
    r = CliRunner().invoke(cli, ["report", str(run), "--scores", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "does not exist" in r.output
    (run / "scores.jsonl").write_text(json.dumps({"row": 0, "instance_id": "getmoto__moto-1", "score": 7}) + "\n")
    r = CliRunner().invoke(cli, ["report", str(run), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "scores.jsonl, row 1, field 'score'" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(cli, ["report", str(empty), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "without trajectories.jsonl" in r.output


# -- headless Chromium -------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium not installed (apt-get install -y chromium)")


def load_page(url: str, tmp: Path, shot: Path, size: str = "1280,1600") -> list[str]:
    """Open ``url`` headless, screenshot it, return the page's console lines (errors, logs, exceptions)."""
    proc = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp}", f"--window-size={size}", f"--screenshot={shot}", url],
        capture_output=True, text=True, timeout=120,
    )
    assert shot.is_file(), proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_capture_catches_errors(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>nope();</script></body></html>")
    lines = load_page(bad.as_uri(), tmp_path / "profile", tmp_path / "bad.png", "400,300")
    assert any("Uncaught ReferenceError" in line for line in lines), lines


def test_report_loads_in_headless_chromium_without_console_errors(tmp_path):
    from PIL import Image

    build_report([make_run(tmp_path / "run")], tmp_path / "out")
    out = tmp_path / "out"
    for page, shot in [(out / "index.html", tmp_path / "index.png"), (out / "trajectories" / "00001.html", tmp_path / "traj.png")]:
        console = load_page(page.as_uri(), tmp_path / f"profile-{shot.stem}", shot)
        assert console == [], console
        assert shot.stat().st_size > 20_000
        with Image.open(shot) as img:
            assert img.size == (1280, 1600)
            assert len(img.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 100  # a rendered page, not blank
