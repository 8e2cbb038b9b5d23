"""``swegym tasks mine``: turn a repository's history into validated SWE-Gym tasks."""
from __future__ import annotations

import os
import sys

import click

from ..errors import SwegymError
from .options import runtime_options


@click.command("mine")
@click.option("--repo", required=True, help="The repository, owner/name.")
@click.option("--since", default=None, help="Only commits after this date (git's --since, e.g. 2023-01-01).")
@click.option("--until", default=None, help="Only commits before this date (git's --until, e.g. 2023-11-20).")
@click.option("--pr", "prs", multiple=True, type=int, help="Mine just these pull requests (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop once this many candidates (newest first) are decided, kept or dropped; candidates an earlier "
                   "run decided count, infrastructure errors do not (the next candidate is taken).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Candidates mined in parallel.")
@click.option("-o", "--output", default="tasks.jsonl", show_default=True, type=click.Path(dir_okay=False),
              help="Task rows are appended here (JSONL); mine-report.json goes next to it.")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False),
              help="Where the per-candidate report goes (default: mine-report.json beside --output).")
@click.option("--ref", default="HEAD", show_default=True, help="The main-line branch or commit to walk.")
@click.option("--statements", default="github", show_default=True,
              help="Problem-statement source: github (linked issue, offline the commit message), commit, or a plugin's.")
@click.option("--offline", is_flag=True, help="Do not contact the GitHub API (base = main-line parent, statement = commit message).")
@click.option("--no-exec", "no_exec", is_flag=True, help="Only list candidates (rows without FAIL_TO_PASS; not valid tasks).")
@click.option("--repeats", type=click.IntRange(min=1), default=2, show_default=True,
              help="Runs of each side (before/after the fix); tests that differ between runs are flaky.")
@click.option("--timeout", type=click.FloatRange(min=1), default=1800, show_default=True, help="Seconds per test run.")
@runtime_options
def mine_cmd(repo: str, since: str | None, until: str | None, prs: tuple[int, ...],
             limit: int | None, workers: int, output: str, report_path: str | None, ref: str, statements: str,
             offline: bool, no_exec: bool, repeats: int, timeout: float, runtime_name: str,
             runtime_options: dict, env_spec: str | None) -> None:
    """Mine pull requests that fix code and change tests into tasks; run their tests to find FAIL_TO_PASS.

    Each candidate's environment is built, its test files run on base + test_patch and on base +
    test_patch + patch, twice each. Kept rows are appended to OUTPUT; every candidate's outcome
    (kept, dropped + reason, build and test time) goes to mine-report.json. A rerun skips
    decided candidates (and retries errors); Ctrl-C stops the sandboxes and exits 130. GITHUB_TOKEN / GITHUB_API_URL configure the GitHub API.

    \b
    Examples:
      swegym tasks mine --repo getmoto/moto --repo-source getmoto/moto=../moto.git --limit 20 -o moto.jsonl
      swegym tasks mine --repo getmoto/moto --repo-source getmoto/moto=../moto.git --pr 6190 --pr 7023
      swegym tasks mine --repo me/tool --repo-source me/tool=. --env-spec tool-env.yaml --offline --workers 2
    """
    from ..mining import mine_tasks
    from pathlib import Path

    # --repo-source is the shared runtime flag: history is read from it and images are built from it.
    sources = {name: Path(path) for name, path in (runtime_options.get("repo_sources") or {}).items()}
    if sources and repo not in sources:
        raise SwegymError(f"--repo-source names {', '.join(sources)} but --repo is {repo!r}")
    try:  # Ctrl-C, and SIGTERM (mine_tasks turns it into KeyboardInterrupt)
        result = mine_tasks(repo, output, source=sources.get(repo), since=since, until=until, prs=prs, limit=limit,
                            workers=workers, runtime_name=runtime_name, runtime_options=runtime_options,
                            env_spec=env_spec, statements=statements, github=False if offline else None,
                            report_path=report_path, ref=ref, repeats=repeats, timeout=timeout, run_tests=not no_exec)
    except KeyboardInterrupt:
        # mine_tasks has saved the decided candidates and removed the sandboxes; the workers' threads
        # may still be unwinding from their removed containers: do not wait for them.
        click.echo("interrupted: decided candidates are saved; rerun the same command to resume", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    s = result.summary
    click.echo(f"candidates {s['candidates']}  kept {s['kept']}  dropped {s['dropped']}  errors {s['error']}  "
               f"({result.examined} mined now in {result.seconds:.0f}s)")
    for reason, n in sorted(s.get("drop_reasons", {}).items(), key=lambda kv: -kv[1]):
        click.echo(f"  {n:>4}  {reason}")
    click.echo(f"tasks: {result.output}  report: {result.report_path}", err=True)
    if s["error"]:
        click.echo(f"warning: {s['error']} candidate(s) hit infrastructure errors; rerun the same command to retry them",
                   err=True)


__all__ = ["mine_cmd"]
