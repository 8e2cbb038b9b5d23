"""Problem statements for mined tasks, and the pull-request facts only GitHub knows.

Built-in sources (``--statements NAME``):

* ``github`` (default): the issues the pull request resolves (SWE-bench's rule: "<keyword> #N"
  in the PR title, body and commit messages, keywords close/fix/resolve and their forms), their
  title and body as the statement and their comments from before the PR's first commit as
  hints; offline, or when the PR links no issue, the commit message.
* ``commit``: always the pull request's commit message (no network).

Plugins add sources through the ``register_statement_sources`` hook (e.g. a statement an LLM
writes from the diff, as R2E-Gym does): ``register("llm", factory)`` where ``factory(**options)``
returns a callable ``(candidate) -> Statement | None``; None falls back to the commit message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .candidates import Candidate

#: github.com/…/using-keywords-in-issues-and-pull-requests, as swebench 5.0.2 lists them.
PR_KEYWORDS = {"close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"}
_COMMENTS = re.compile(r"(?s)<!--.*?-->")


@dataclass
class Statement:
    text: str
    source: str  # "issue" | "commit" | a plugin's label
    hints: str = ""
    issues: tuple[str, ...] = ()


StatementSource = Callable[[Candidate], "Statement | None"]


def resolved_issues(text: str, repo: str | None = None) -> list[str]:
    """Issue numbers a PR text closes: '<keyword> #N' or '<keyword> https://github.com/<repo>/issues/N'."""
    markers = [r"\#"]
    if repo:
        markers.append(re.escape(f"https://github.com/{repo}/issues/"))
    pattern = re.compile(rf"(\w+)\s+(?:{'|'.join(markers)})(\d+)")
    found = [num for word, num in pattern.findall(_COMMENTS.sub("", text)) if word.lower() in PR_KEYWORDS]
    return list(dict.fromkeys(found))


def commit_statement(candidate: Candidate) -> Statement:
    return Statement(candidate.message.strip() + "\n", "commit")


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class GitHubStatements:
    """The ``github`` source; also fills in the PR's base commit and creation time when reachable."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, candidate: Candidate) -> Statement | None:
        pull = self.client.pull(candidate.repo, candidate.number)
        if not pull:
            return None
        commits = self.client.pull_commits(candidate.repo, candidate.number)
        text = "\n".join([pull.get("title") or "", pull.get("body") or "",
                          *[(c.get("commit") or {}).get("message") or "" for c in commits]])
        issues = resolved_issues(text, candidate.repo)
        statement, hints = "", []
        first = ((commits[0].get("commit") or {}).get("author") or {}).get("date") if commits else None
        for number in issues:
            issue = self.client.issue(candidate.repo, number)
            if not issue:
                continue
            statement += f"{issue.get('title') or ''}\n{issue.get('body') or ''}\n"
            if first:
                kept = []
                for comment in self.client.issue_comments(candidate.repo, number):
                    if _ts(comment["updated_at"]) < _ts(first):
                        kept.append(comment.get("body") or "")
                    else:
                        break
                hints.append("\n".join(kept))
        if not statement:
            return None
        return Statement(statement, "issue", "\n".join(hints), tuple(issues))


def statement_source(name: str, *, client: Any = None, **options: Any) -> StatementSource:
    """The statement source called ``name``: built-in ``github``/``commit`` or a plugin's."""
    if name == "commit":
        return commit_statement
    if name == "github":
        return GitHubStatements(client)
    from ..plugins import get_registry

    return get_registry().create("statement", name, **options)


__all__ = ["PR_KEYWORDS", "Statement", "StatementSource", "resolved_issues", "commit_statement",
           "GitHubStatements", "statement_source"]
