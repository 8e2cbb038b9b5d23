"""Mining (no containers): commit classification, the code/test split, versions, the flaky rule,
GitHub statements against a real HTTP server on loopback, and the CLI listing, on small git
repositories made here."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from swegym.mining import candidates as cands
from swegym.mining import git as mgit
from swegym.mining.candidates import classify, is_test_path, split_patch
from swegym.mining.execute import classify_tests
from swegym.mining.github import GitHubClient
from swegym.mining.statements import Statement, resolved_issues
from swegym.mining.versions import SetupCommits, major_minor, version_at
from swegym.mining import mine_tasks

from mining_repos import git, make_history

REPO = "acme/calc"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("calc") / "calc"
    return root, make_history(root)


def test_commit_classification(history):
    root, shas = history
    by_sha = {c.sha: c for c in mgit.main_line(root)}
    assert classify(by_sha[shas["pr3"]]) == ("squash", 3)
    assert classify(by_sha[shas["pr5"]]) == ("merge", 5)
    assert classify(by_sha[shas["plain"]]) is None
    assert classify(by_sha[shas["init"]]) is None
    # the feature branch's own commits are not on the main line
    assert len(by_sha) == 7
    found = {n: kind for _, kind, n in cands.find_candidates(root, REPO)}
    assert found == {3: "squash", 4: "squash", 5: "merge", 6: "squash", 7: "squash"}


def test_candidates_need_code_and_tests(history):
    root, shas = history
    commits = {c.sha: c for c in mgit.main_line(root)}
    made = {}
    for commit, kind, n in cands.find_candidates(root, REPO):
        made[n] = cands.make_candidate(root, REPO, commit, kind, n)
    assert made[4] == (None, "no test changes")
    assert made[6] == (None, "no non-test changes")
    c3 = made[3][0]
    assert c3.instance_id == "acme__calc-3" and c3.base_commit == shas["init"] and c3.kind == "squash"
    assert c3.patch.startswith("diff --git a/calc.py b/calc.py") and "tests/" not in c3.patch
    assert c3.test_patch.startswith("diff --git a/tests/test_calc.py") and "+def test_clamp_high" in c3.test_patch
    assert c3.created_at == "2023-01-02 10:00:00"
    c5 = made[5][0]
    assert c5.base_commit == shas["plain"] == commits[shas["pr5"]].parents[0]  # the main-line parent
    assert "+def sub(a, b):" in c5.patch and "0.4.0" not in c5.patch  # only the PR's net change
    assert "tests/test_sub.py" in c5.test_patch and c5.message == "Add sub()"
    # the split parts apply on the base and give the commit's tree
    work = root.parent / "apply5"
    git(root, "worktree", "add", "-q", "--detach", str(work), c5.base_commit)
    (work / "p").write_text(c5.patch + c5.test_patch)
    git(work, "apply", "p")
    (work / "p").unlink()
    git(work, "add", "-A")
    assert git(work, "write-tree") == git(root, "rev-parse", f"{shas['pr5']}^{{tree}}")


def test_split_follows_swebench_rule():
    diff = "".join(
        f"diff --git a/{p} b/{p}\n--- a/{p}\n+++ b/{p}\n@@ -1 +1 @@\n-a\n+b\n"
        for p in ("src/app.py", "tests/test_app.py", "e2e/run.py", "src/testing_utils.py", "src/contest.py", "docs/x.md"))
    fix, test = split_patch(diff)
    files = lambda p: [l.split(" b/")[1] for l in p.splitlines() if l.startswith("diff --git")]  # noqa: E731
    assert files(fix) == ["src/app.py", "docs/x.md"]
    # upstream matches substrings of the whole path: 'contest.py' counts as a test file too
    assert files(test) == ["tests/test_app.py", "e2e/run.py", "src/testing_utils.py", "src/contest.py"]
    # unidiff (as upstream) writes hunk headers in full: '@@ -1 +1 @@' becomes '@@ -1,1 +1,1 @@'
    assert sorted((fix + test).splitlines()) == sorted(diff.replace("@@ -1 +1 @@", "@@ -1,1 +1,1 @@").splitlines())
    assert is_test_path("pkg/tests/data.json") and not is_test_path("pkg/core.py")


def test_version_rules(history, tmp_path):
    root, shas = history
    assert major_minor("4.1.8.dev") == "4.1" and major_minor("v2") == "2.0" and major_minor("release") == ""
    assert major_minor("2021.01.0") == "2021.01" and major_minor("0.820+dev") == "0.820"  # as swebench writes them
    # default rule: nearest tag
    assert version_at(root, REPO, shas["pr3"]) == "0.2"
    # a repository rule from the user's spec file: read the version from a file
    spec = tmp_path / "env.yaml"
    spec.write_text("repositories:\n  acme/calc:\n    version_rule:\n      file: calc.py\n"
                    "      pattern: '__version__ = \"([^\"]+)\"'\n    specs: [{}]\n")
    assert version_at(root, REPO, shas["init"], spec) == "0.3"
    assert version_at(root, REPO, shas["pr5"], spec) == "0.4"
    # a rule whose match is no version ('unknown', as dask writes it) falls through to the nearest tag
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("repositories:\n  acme/calc:\n    version_rule:\n      file: calc.py\n"
                       "      pattern: '(unknown|__version__)'\n    specs: [{}]\n")
    assert version_at(root, REPO, shas["pr3"], unknown) == "0.2"
    # the shipped table carries moto's rule (moto/__init__.py)
    from swegym.mining.versions import rules_for
    assert rules_for("getmoto/moto")[0]["file"] == "moto/__init__.py"
    # environment_setup_commit: the newest main-line commit at that version
    setup = SetupCommits(root, REPO, mgit.first_parent_shas(root), spec)
    assert setup("0.3", "x") == shas["pr4"]
    assert setup("0.4", "x") == shas["pr7"]
    assert setup("9.9", "fallback") == "fallback"
    assert setup("0.1", "fallback") == "fallback"


def test_flaky_rule_and_fail_to_pass():
    before = [{"t::a": "FAILED", "t::b": "PASSED", "t::flaky": "PASSED", "t::gone": "PASSED", "t::err": "ERROR"},
              {"t::a": "FAILED", "t::b": "PASSED", "t::flaky": "FAILED", "t::gone": "PASSED", "t::err": "ERROR"}]
    after = [{"t::a": "PASSED", "t::b": "PASSED", "t::flaky": "PASSED", "t::new": "PASSED", "t::err": "PASSED",
              "t::flaky2": "PASSED", "t::still": "FAILED"},
             {"t::a": "PASSED", "t::b": "PASSED", "t::flaky": "PASSED", "t::new": "PASSED", "t::err": "PASSED",
              "t::flaky2": "FAILED", "t::still": "FAILED"}]
    out = classify_tests(before, after)
    assert sorted(out.fail_to_pass) == ["t::a", "t::err", "t::new"]  # a test absent before (not collected) counts
    assert out.pass_to_pass == ["t::b"]
    assert sorted(out.flaky) == ["t::flaky", "t::flaky2"]
    assert "t::gone" not in out.pass_to_pass + out.fail_to_pass  # passing before, absent after: neither


def test_resolved_issue_keywords():
    text = "Fixes #12\nsee #13\n<!-- closes #14 -->\nresolves https://github.com/acme/calc/issues/15\nclose #12"
    assert resolved_issues(text, "acme/calc") == ["12", "15"]


class _FakeGitHub(BaseHTTPRequestHandler):
    """The few GitHub REST endpoints mining reads, with a rate limit on the first issue request."""

    routes: dict[str, object] = {}
    hits: list[str] = []
    limited = {"once": True}

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        type(self).hits.append(self.path)
        if path.endswith("/issues/2") and self.limited["once"]:
            self.limited["once"] = False
            self.send_response(403)
            self.send_header("X-RateLimit-Remaining", "0")
            self.send_header("X-RateLimit-Reset", "0")
            self.end_headers()
            return
        if "page=2" in self.path or path not in self.routes:
            body, code = ([] if "page=" in self.path else {"message": "Not Found"}), (200 if "page=" in self.path else 404)
        else:
            body, code = self.routes[path], 200
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def fake_github(history):
    root, shas = history
    _FakeGitHub.routes = {
        f"/repos/{REPO}/pulls/3": {"number": 3, "title": "Fix clamp", "body": "This fixes #2.",
                                   "created_at": "2022-12-30T08:00:00Z",
                                   "base": {"sha": shas["init"]}, "head": {"sha": "0" * 40}},
        f"/repos/{REPO}/pulls/3/commits": [{"commit": {"message": "fix", "author": {"date": "2022-12-31T00:00:00Z"}}}],
        f"/repos/{REPO}/issues/2": {"number": 2, "title": "clamp is off by one", "body": "clamp(9, 0, 5) gives 4"},
        f"/repos/{REPO}/issues/2/comments": [
            {"body": "confirmed", "updated_at": "2022-12-30T09:00:00Z"},
            {"body": "after the first commit", "updated_at": "2023-01-01T09:00:00Z"}],
    }
    _FakeGitHub.hits = []
    _FakeGitHub.limited["once"] = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_github_statement_base_and_cache(history, fake_github, tmp_path, monkeypatch):
    root, shas = history
    monkeypatch.setenv("GITHUB_API_URL", fake_github)
    waits = []
    client = GitHubClient(cache_dir=tmp_path / "cache", sleep=waits.append)
    out = tmp_path / "out" / "tasks.jsonl"
    mine_tasks(REPO, out, source=root, prs=[3, 5], github=client, run_tests=False, progress=False)
    rows = {json.loads(l)["instance_id"]: json.loads(l) for l in out.read_text().splitlines()}
    r3, r5 = rows["acme__calc-3"], rows["acme__calc-5"]
    assert r3["problem_statement"] == "clamp is off by one\nclamp(9, 0, 5) gives 4\n"
    assert r3["problem_statement_source"] == "issue" and r3["hints_text"] == "confirmed"
    assert r3["created_at"] == "2022-12-30 08:00:00" and r3["base_commit"] == shas["init"]
    assert waits and waits[0] >= 1  # the rate limit was waited out, then the request repeated
    # PR 5 is unknown to the API (404): offline fallback, the commit message
    assert r5["problem_statement_source"] == "commit" and r5["problem_statement"] == "Add sub()\n"
    report = json.loads((out.parent / "mine-report.json").read_text())
    assert report["candidates"]["acme__calc-3"]["base_source"] == "github"
    # a second client on the same cache asks the server nothing for PR 3
    before = len(_FakeGitHub.hits)
    again = GitHubClient(cache_dir=tmp_path / "cache")
    assert again.pull(REPO, 3)["number"] == 3 and len(_FakeGitHub.hits) == before


def test_unreachable_api_falls_back_to_commit(history, tmp_path):
    root, shas = history
    client = GitHubClient(api_url="http://127.0.0.1:9", cache_dir=tmp_path / "c", timeout=2)
    out = tmp_path / "t.jsonl"
    mine_tasks(REPO, out, source=root, prs=[3], github=client, run_tests=False, progress=False)
    row = json.loads(out.read_text())
    assert client.reachable is False
    assert row["problem_statement_source"] == "commit" and row["base_commit"] == shas["init"]
    assert row["problem_statement"].startswith("Fix clamp upper bound (#3)")


def test_cli_lists_candidates(history, tmp_path):
    root, _ = history
    out = tmp_path / "list.jsonl"
    proc = subprocess.run([sys.executable, "-m", "swegym.cli", "tasks", "mine", "--repo", REPO, "--repo-source",
                           f"{REPO}={root}", "--offline", "--no-exec", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ids = [json.loads(l)["instance_id"] for l in out.read_text().splitlines()]
    assert sorted(ids) == ["acme__calc-3", "acme__calc-5", "acme__calc-7"]
    bad = subprocess.run([sys.executable, "-m", "swegym.cli", "tasks", "mine", "--repo", REPO, "--repo-source",
                          f"{REPO}={tmp_path / 'nope'}"], capture_output=True, text=True)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


class _DiffStatements:
    """A plugin's statement source (as an LLM writer would be), registered through the hook."""

    @staticmethod
    def register_statement_sources(register):
        def factory(prefix: str = "Fix:"):
            return lambda cand: Statement(f"{prefix} {cand.patch.count('+def ')} new function(s)\n", "diff-writer")

        register("from-diff", factory, description="test source")


def test_plugin_statement_source(history, tmp_path):
    import swegym
    from swegym.hookspecs import hookimpl

    plugin = _DiffStatements()
    plugin.register_statement_sources = hookimpl(_DiffStatements.register_statement_sources)
    swegym.get_registry().add_plugin(plugin, "test-diff-statements")
    assert "from-diff" in swegym.get_registry().names("statement")
    root, _ = history
    out = tmp_path / "t.jsonl"
    mine_tasks(REPO, out, source=root, prs=[5], github=False, statements="from-diff",
               statement_options={"prefix": "Add:"}, run_tests=False, progress=False)
    row = json.loads(out.read_text())
    assert row["problem_statement"] == "Add: 1 new function(s)\n" and row["problem_statement_source"] == "diff-writer"
