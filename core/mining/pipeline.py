"""``mine_tasks``: a repository's history → validated SWE-Gym task rows (see the package docstring)."""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import SwegymError
from ..types import Task
from . import git
from .candidates import Candidate, find_candidates, instance_id, make_candidate, split_patch
from .execute import execute
from .report import DECIDED, MineReport
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


#: what --limit counts: decided candidates (``listed`` ones with --no-exec)
COUNTED = (*DECIDED, "listed")


def _existing_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The kept rows already in ``path``. A file with an instance twice (an older run's resume bug, or
    a --no-exec listing followed by a real run) is rewritten with one row per instance: its first
    row with FAIL_TO_PASS, else its first."""
    if not path.exists():
        return {}
    parsed = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen: dict[str, int] = {}
    for i, row in enumerate(parsed):
        iid = row.get("instance_id")
        if iid not in chosen or (row.get("FAIL_TO_PASS") and not parsed[chosen[iid]].get("FAIL_TO_PASS")):
            chosen[iid] = i
    if len(chosen) < len(parsed):
        from ..files import write_text_atomic

        keep = sorted(chosen.values())
        write_text_atomic(path, "".join(json.dumps(parsed[i]) + "\n" for i in keep))
        sys.stderr.write(f"warning: {path}: removed {len(parsed) - len(keep)} duplicate row(s) (one row per instance_id)\n")
    # --no-exec listings are not decisions
    return {iid: parsed[i] for iid, i in chosen.items() if parsed[i].get("FAIL_TO_PASS")}


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
        absent = git.missing_files(self.repo_path, cand.base_commit)
        lacking = [p for p in absent if not _inert(p)]
        if lacking:  # the image would be built without these files: a broken task, not a real outcome
            entry.update(decision="error", reason=_lacking_reason(lacking))
            return entry, None
        if absent:  # media and docs a mirror left out (large blobs): the tests cannot read them
            entry["absent_files"] = sorted(absent)
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

    ``source`` is a local clone or bare mirror (else ``~/.cache/swegym/mirrors``); ``limit``: stop once
    that many candidates (newest first) are decided, kept or dropped, those decided by an earlier run
    with the same output included (a candidate that hits an infrastructure ``error`` does not count:
    the next one is taken, and a rerun retries it); ``until``/``since`` bound the commit dates; ``runtime`` may
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

        from ..options import shared_options

        options = dict(runtime_options or {})
        # the mined repository and its spec go to a runtime that declares those options (core names none)
        sources = {repo: Path(repo_path), **{k: Path(v) for k, v in (options.get("repo_sources") or {}).items()}}
        options.update(shared_options("runtime", runtime_name, {"repo_sources": sources,
                                                                "env_spec_file": options.get("env_spec_file") or env_spec}))
        runtime = create("runtime", runtime_name, **options)
        owns_runtime = True
    setup = SetupCommits(repo_path, repo, git.first_parent_shas(repo_path, ref), env_spec)
    miner = _Miner(repo, repo_path, statements=source_fn, github=github, runtime=runtime, spec_file=env_spec,
                   repeats=repeats, timeout=timeout, run_tests=run_tests, setup_commits=setup,
                   log_dir=report.path.parent / "mine-logs")

    wanted = list(dict.fromkeys(prs or []))
    _reconcile(rows, report)
    stats = {"skipped": 0, "walked": set()}

    def pending() -> Iterator[tuple[str, Any]]:
        """("decided", iid) for a candidate an earlier run decided, ("todo", Candidate) or ("error", (iid, entry))."""
        for commit, kind, number in find_candidates(repo_path, repo, ref=ref, since=since, until=until, prs=wanted):
            iid = instance_id(repo, number)
            stats["walked"].add(number)
            if iid in rows or report.decided(iid):
                yield "decided", iid
                continue
            try:
                cand, _why = make_candidate(repo_path, repo, commit, kind, number)
            except SwegymError as exc:  # e.g. a partial clone lacking the diff's blobs
                lacking = git.missing_files(repo_path, commit.parents[0]) + git.missing_files(repo_path, commit.sha)
                yield "error", (iid, _error_entry(number, kind, commit.sha, _lacking_reason(lacking) if lacking
                                                  else f"reading the candidate failed: {exc}"))
                continue
            if cand is None:
                stats["skipped"] += 1
                continue
            yield "todo", cand

    lock = threading.Lock()
    stop = threading.Event()
    kept_now: list[dict[str, Any]] = []
    decided = 0  # candidates decided (kept or dropped), this run and earlier ones: what --limit counts
    mined_now = 0
    bar = tqdm(total=limit if limit is not None else (len(wanted) or None), desc=f"mining {repo}", unit="PR",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)

    def one(cand: Candidate) -> dict[str, Any]:
        t0 = time.perf_counter()
        entry, row = miner.mine(cand)
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        with lock:
            if stop.is_set():  # interrupted: what this run saw after Ctrl-C is not a decision
                return {"decision": "interrupted"}
            if row is not None and cand.instance_id not in rows:
                with output.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
                kept_now.append(row)
                rows[cand.instance_id] = row
            report.record(cand.instance_id, entry)
            bar.update(entry["decision"] in COUNTED)
            bar.set_postfix_str(f"{cand.instance_id}: {entry['decision']}")
        return entry

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="swegym-mine")
    stream = pending()
    # SIGTERM stops like Ctrl-C, through the same path: the flag is set before any sandbox is removed
    # (a runtime's own SIGTERM handler would remove them first, and a candidate whose sandbox vanished
    # mid-run could be recorded with a bogus outcome)
    previous_term = _hook_sigterm()
    in_flight: set[Future] = set()
    exhausted = False
    errors_now = 0
    try:
        while True:
            while not exhausted and len(in_flight) < max(1, workers) and (limit is None or decided + len(in_flight) < limit):
                item = next(stream, None)
                if item is None:
                    exhausted = True
                elif item[0] == "decided":
                    decided += 1
                    bar.update(1)
                elif item[0] == "error":
                    report.record(*item[1])
                    errors_now += 1
                    exhausted = limit is not None and errors_now >= limit
                else:
                    in_flight.add(pool.submit(one, item[1]))
                    mined_now += 1
            if not in_flight:
                break
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in done:
                decision = fut.result().get("decision")
                decided += decision in COUNTED
                errors_now += decision == "error"
            if limit is not None and errors_now >= limit and not exhausted:  # a broken mirror must not walk all history
                sys.stderr.write(f"warning: stopped after {errors_now} candidates that hit errors (see {report.path})\n")
                exhausted = True
        pool.shutdown(wait=True)
    except BaseException:
        # Ctrl-C / SIGTERM / a failure: start nothing new, stop the sandboxes of the candidates in
        # flight (their outcome is not recorded); what is decided is already on disk.
        with lock:
            stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        if owns_runtime and hasattr(runtime, "abort"):
            runtime.abort()
        raise
    finally:
        _unhook_sigterm(previous_term)
        bar.close()
        report.flush()
        if hasattr(runtime, "drain") and not stop.is_set():
            runtime.drain()  # sandboxes the harness released in the background
        if owns_runtime and not stop.is_set():
            runtime.close()
        if github is not None and hasattr(github, "close"):
            github.close()
    missing = [n for n in wanted if n not in stats["walked"]]
    if missing:
        sys.stderr.write(f"warning: pull request(s) {', '.join(map(str, missing))} not found on the main line "
                         f"of {repo} as a merge or '(#N)' commit\n")
    skipped_no_tests = stats["skipped"]
    summary = {**report.summary(), "skipped_without_code_and_tests": skipped_no_tests}
    return MineResult(output, report.path, list(rows.values()), summary, time.perf_counter() - started, mined_now)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _hook_sigterm() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return previous


def _unhook_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


#: files a mirror may lack without changing any test outcome: media, notebooks, documentation
INERT_SUFFIXES = (".gif", ".png", ".jpg", ".jpeg", ".svg", ".ico", ".webp", ".mp4", ".webm", ".pdf", ".psd",
                  ".ipynb")
INERT_DIRS = ("docs/", "doc/")


def _inert(path: str) -> bool:
    """A file whose absence cannot change a test result (snapshot mirrors drop their largest blobs)."""
    return path.lower().endswith(INERT_SUFFIXES) or path.startswith(INERT_DIRS)


def _lacking_reason(paths: list[str]) -> str:
    unique = sorted(set(paths))
    shown = ", ".join(unique[:5]) + (" …" if len(unique) > 5 else "")
    return (f"repository source lacks file contents: {len(unique)} file(s) ({shown}); a partial clone? "
            f"mine from a full mirror (git clone --mirror)")


def _error_entry(number: int, kind: str, commit: str, reason: str) -> dict[str, Any]:
    return {"number": number, "kind": kind, "commit": commit, "decision": "error", "reason": reason,
            "build_s": 0.0, "test_s": 0.0}


def _reconcile(rows: dict[str, dict[str, Any]], report: MineReport) -> None:
    """Make tasks.jsonl and mine-report.json agree before resuming: a row whose report entry was lost
    (killed between the two writes) is recorded as kept, so it is neither mined nor written again."""
    for iid, row in rows.items():
        if not report.decided(iid):
            report.candidates[iid] = {"number": int(iid.rsplit("-", 1)[1]), "base_commit": row.get("base_commit"),
                                      "version": row.get("version"), "decision": "kept", "reason": None,
                                      "FAIL_TO_PASS": len(row.get("FAIL_TO_PASS") or []),
                                      "PASS_TO_PASS": len(row.get("PASS_TO_PASS") or []),
                                      "recovered": "row found in the output, report entry missing"}


__all__ = ["mine_tasks", "MineResult", "resolve_source"]
