"""``mine_tasks``: a repository's history → validated SWE-Gym task rows (see the package docstring)."""
from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import SwegymError
from ..types import Task
from . import git
from .candidates import Candidate, find_candidates, make_candidate, split_patch
from .execute import execute
from .report import MineReport
from .statements import Statement, commit_statement, statement_source
from .versions import SetupCommits, version_at


@dataclass
class MineResult:
    """What a mining run produced: the kept rows (this run and earlier ones) and the report."""

    output: Path
    report_path: Path
    kept: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    examined: int = 0


def _existing_rows(path: Path) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("FAIL_TO_PASS"):  # --no-exec listings are not decisions
                rows[row["instance_id"]] = row
    return rows


def resolve_source(repo: str, source: str | Path | None) -> Path:
    """The local git directory to read history from: ``source``, or a bare clone cached under ~/.cache."""
    if source:
        path = Path(source).expanduser().resolve()
        if not path.exists():
            raise SwegymError(f"repository source {path} does not exist (--repo-source {repo}=PATH)")
        return path
    from ..repos import repo_source

    url = repo_source(repo)
    if Path(url).exists():
        return Path(url)
    cache = Path.home() / ".cache" / "swegym" / "mirrors" / repo.replace("/", "+")
    if not cache.exists():
        import subprocess

        proc = subprocess.run(["git", "clone", "-q", "--bare", url, str(cache)], capture_output=True, text=True)
        if proc.returncode:
            raise SwegymError(f"could not clone {url}: {proc.stderr.strip()[:300]}. Pass a local mirror: "
                              f"--repo-source {repo}=PATH (a clone or a bare git directory)")
    return cache


class _Miner:
    def __init__(self, repo: str, repo_path: Path, *, statements: Any, github: Any, runtime: Any, spec_file: str | None,
                 repeats: int, timeout: float, run_tests: bool, setup_commits: SetupCommits,
                 log_dir: Path | None = None) -> None:
        self.repo, self.repo_path = repo, repo_path
        self.statements, self.github, self.runtime = statements, github, runtime
        self.spec_file, self.repeats, self.timeout, self.run_tests = spec_file, repeats, timeout, run_tests
        self.setup_commits = setup_commits
        self.log_dir = log_dir

    def enrich(self, cand: Candidate) -> Statement:
        """Base and creation time from GitHub when reachable; version; setup commit; statement."""
        pull = self.github.pull(cand.repo, cand.number) if self.github is not None else None
        if pull:
            base = (pull.get("base") or {}).get("sha")
            head = (pull.get("head") or {}).get("sha")
            if base and git.has_commit(self.repo_path, base):
                cand.base_commit, cand.base_source = base, "github"
                if head and git.has_commit(self.repo_path, head):
                    cand.patch, cand.test_patch = split_patch(git.diff(self.repo_path, base, head, three_dot=True))
            if pull.get("created_at"):
                from .candidates import iso_to_row_date

                cand.created_at = iso_to_row_date(pull["created_at"])
        cand.version = version_at(self.repo_path, cand.repo, cand.base_commit, self.spec_file)
        cand.environment_setup_commit = self.setup_commits(cand.version, cand.base_commit)
        statement = None
        try:
            statement = self.statements(cand)
        except SwegymError:
            raise
        except Exception as exc:  # noqa: BLE001 - a plugin's failure falls back, and is recorded
            cand.extra["statement_error"] = f"{type(exc).__name__}: {exc}"
        return statement or commit_statement(cand)

    def task_for(self, cand: Candidate, statement: Statement) -> Task:
        return Task(instance_id=cand.instance_id, repo=cand.repo, base_commit=cand.base_commit,
                    problem_statement=statement.text, hints_text=statement.hints, patch=cand.patch,
                    test_patch=cand.test_patch, version=cand.version, created_at=cand.created_at,
                    environment_setup_commit=cand.environment_setup_commit,
                    extra={"problem_statement_source": statement.source})

    def mine(self, cand: Candidate) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(report entry, task row or None)."""
        statement = self.enrich(cand)
        task = self.task_for(cand, statement)
        entry: dict[str, Any] = {"number": cand.number, "kind": cand.kind, "commit": cand.commit,
                                 "base_commit": cand.base_commit, "base_source": cand.base_source,
                                 "version": cand.version, "problem_statement_source": statement.source,
                                 "created_at": cand.created_at, "build_s": 0.0, "test_s": 0.0, **cand.extra}
        if not self.run_tests:
            entry.update(decision="listed", reason="not executed (--no-exec)")
            return entry, task.to_dict()
        ex = execute(task, self.runtime, repeats=self.repeats, timeout=self.timeout, spec_file=self.spec_file,
                     log_dir=self.log_dir / cand.instance_id if self.log_dir else None)
        entry.update(build_s=round(ex.build_s, 2), test_s=round(ex.test_s, 2), statuses=ex.statuses)
        if ex.outcome is None:
            entry.update(decision="error" if ex.infrastructure else "dropped", reason=ex.drop_reason)
            return entry, None
        entry.update(FAIL_TO_PASS=len(ex.outcome.fail_to_pass), PASS_TO_PASS=len(ex.outcome.pass_to_pass),
                     flaky=ex.outcome.flaky)
        if not ex.outcome.fail_to_pass:
            why = ("no test fails before the fix and passes after it" if ex.outcome.passing_after
                   else "no test passes after the fix (a broken environment? see the logs)")
            entry.update(decision="dropped", reason=f"no FAIL_TO_PASS: {why}")
            return entry, None
        task.FAIL_TO_PASS, task.PASS_TO_PASS = ex.outcome.fail_to_pass, ex.outcome.pass_to_pass
        entry.update(decision="kept", reason=None)
        return entry, task.to_dict()


def mine_tasks(
    repo: str,
    output: str | Path,
    *,
    source: str | Path | None = None,
    since: str | None = None,
    until: str | None = None,
    prs: Iterable[int] | None = None,
    limit: int | None = None,
    workers: int = 1,
    runtime: Any = None,
    runtime_name: str = "docker",
    runtime_options: dict[str, Any] | None = None,
    env_spec: str | None = None,
    statements: str = "github",
    statement_options: dict[str, Any] | None = None,
    github: Any = None,  # a GitHubClient; None makes one (GITHUB_API_URL, GITHUB_TOKEN); False = offline
    report_path: str | Path | None = None,
    ref: str = "HEAD",
    repeats: int = 2,
    timeout: float = 1800,
    run_tests: bool = True,
    progress: bool = True,
) -> MineResult:
    """Mine ``repo``'s history into task rows appended to ``output`` (JSONL) and ``mine-report.json``.

    ``source`` is a local clone or bare mirror (else ``~/.cache/swegym/mirrors``); ``limit`` caps the
    candidates examined (newest first, decided ones from an earlier run included); ``runtime`` may
    be passed ready-made, otherwise one is created (``runtime_name`` + ``runtime_options``, with the
    mirror as the repository source).
    """
    from tqdm import tqdm

    from .github import GitHubClient

    if "/" not in repo:
        raise SwegymError(f"--repo {repo!r}: expected owner/name")
    started = time.perf_counter()
    repo_path = resolve_source(repo, source)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    report = MineReport(report_path or output.parent / "mine-report.json", repo)
    rows = _existing_rows(output)
    if github is None:
        github = GitHubClient()
    elif github is False:  # offline on purpose
        github = None
    source_fn = statement_source(statements, client=github, **(statement_options or {})) \
        if (github is not None or statements != "github") else commit_statement
    owns_runtime = False
    if run_tests and runtime is None:
        from ..plugins import create

        options = dict(runtime_options or {})
        if runtime_name == "docker":
            options.setdefault("repo_sources", {})
            options["repo_sources"] = {repo: Path(repo_path), **{k: Path(v) for k, v in options["repo_sources"].items()}}
            if env_spec:
                options.setdefault("env_spec_file", env_spec)
        runtime = create("runtime", runtime_name, **options)
        owns_runtime = True
    setup = SetupCommits(repo_path, repo, git.first_parent_shas(repo_path, ref), env_spec)
    miner = _Miner(repo, repo_path, statements=source_fn, github=github, runtime=runtime, spec_file=env_spec,
                   repeats=repeats, timeout=timeout, run_tests=run_tests, setup_commits=setup,
                   log_dir=report.path.parent / "mine-logs")

    wanted = list(dict.fromkeys(prs or []))
    todo: list[Candidate] = []
    examined = 0
    skipped_no_tests = 0
    for commit, kind, number in find_candidates(repo_path, repo, ref=ref, since=since, until=until, prs=wanted):
        if limit is not None and examined >= limit:
            break
        iid = f"{repo.replace('/', '__')}-{number}"
        if iid in rows or report.decided(iid):
            examined += 1
            continue
        cand, why = make_candidate(repo_path, repo, commit, kind, number)
        if cand is None:
            skipped_no_tests += 1
            continue
        examined += 1
        todo.append(cand)
    found = {c.number for c in todo} | {int(i.rsplit("-", 1)[1]) for i in list(rows) + list(report.candidates)}
    missing = [n for n in wanted if n not in found]
    if missing:
        sys.stderr.write(f"warning: pull request(s) {', '.join(map(str, missing))} not found on the main line "
                         f"of {repo} as a merge or '(#N)' commit changing code and tests\n")
    lock = threading.Lock()
    kept_now: list[dict[str, Any]] = []
    bar = tqdm(total=examined, initial=examined - len(todo), desc=f"mining {repo}", unit="PR", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)

    def one(cand: Candidate) -> None:
        t0 = time.perf_counter()
        entry, row = miner.mine(cand)
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        with lock:
            if row is not None:
                with output.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                kept_now.append(row)
                rows[cand.instance_id] = row
            report.record(cand.instance_id, entry)
            bar.update(1)
            bar.set_postfix_str(f"{cand.instance_id}: {entry['decision']}")

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="swegym-mine")
    try:
        for fut in as_completed([pool.submit(one, c) for c in todo]):
            fut.result()
        pool.shutdown(wait=True)
    except BaseException:
        # Ctrl-C / SIGTERM / a failure: start nothing new; what is decided is already on disk.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
        report.flush()
        if hasattr(runtime, "drain"):  # none when nothing ran tests
            runtime.drain()  # sandboxes the harness released in the background
        if owns_runtime:
            runtime.close()
        if github is not None and hasattr(github, "close"):
            github.close()
    summary = {**report.summary(), "skipped_without_code_and_tests": skipped_no_tests}
    return MineResult(output, report.path, list(rows.values()), summary, time.perf_counter() - started, len(todo))


__all__ = ["mine_tasks", "MineResult", "resolve_source"]
