"""A small GitHub REST client for mining: pull requests, their commits, issues, issue comments.

httpx with an on-disk JSON cache (a rerun asks GitHub nothing twice) and rate limits respected:
a 403/429 with ``X-RateLimit-Remaining: 0`` or ``Retry-After`` waits until the reset (bounded by
``max_wait``). ``GITHUB_API_URL`` points it elsewhere (GitHub Enterprise, or a loopback server in
tests); ``GITHUB_TOKEN`` authenticates. When the API cannot be reached at all, the client says so
once (:attr:`reachable` becomes False) and mining continues offline.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import SwegymError

DEFAULT_API = "https://api.github.com"


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "swegym" / "github"


class GitHubClient:
    """GET-only access to the few endpoints mining needs; ``None`` for a 404 or an unreachable API."""

    def __init__(self, *, api_url: str | None = None, token: str | None = None, cache_dir: str | Path | None = None,
                 timeout: float = 10.0, max_wait: float = 900.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
        self.token = token if token is not None else os.environ.get("GITHUB_TOKEN")
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.timeout, self.max_wait, self.sleep = timeout, max_wait, sleep
        self.reachable: bool | None = None
        self.requests = 0
        self._client: Any = None
        self._lock = threading.Lock()

    def _http(self) -> Any:
        if self._client is None:
            try:
                import httpx
            except ImportError:
                raise SwegymError("the GitHub API needs httpx: pip install httpx (or mine offline)") from None
            headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                       "User-Agent": "swegym-mine"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            self._client = httpx.Client(base_url=self.api_url, headers=headers, timeout=self.timeout,
                                        follow_redirects=True)
        return self._client

    def _cache_path(self, path: str) -> Path:
        key = hashlib.sha256(f"{self.api_url}{path}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{key}.json"

    def get(self, path: str) -> Any:
        """GET ``path`` (JSON); cached; waits out rate limits; None when absent or unreachable."""
        cached = self._cache_path(path)
        if cached.exists():
            return json.loads(cached.read_text(encoding="utf-8"))["body"]
        if self.reachable is False:
            return None
        import httpx

        for _ in range(5):
            try:
                with self._lock:
                    resp = self._http().get(path)
                    self.requests += 1
            except httpx.TransportError:
                self.reachable = False
                return None
            self.reachable = True
            if resp.status_code in (403, 429) and self._wait_for_limit(resp):
                continue
            if resp.status_code == 404:
                return None
            if resp.status_code >= 400:
                raise SwegymError(f"GitHub API {self.api_url}{path}: HTTP {resp.status_code}: {resp.text[:200]}")
            body = resp.json()
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"path": path, "body": body}), encoding="utf-8")
            tmp.replace(cached)
            return body
        raise SwegymError(f"GitHub API {self.api_url}{path}: still rate limited after waiting; retry later")

    def _wait_for_limit(self, resp: Any) -> bool:
        """Sleep until the rate limit resets; False when this 403 is not a rate limit."""
        retry_after = resp.headers.get("Retry-After")
        if retry_after is not None:
            wait = float(retry_after)
        elif resp.headers.get("X-RateLimit-Remaining") == "0":
            wait = max(float(resp.headers.get("X-RateLimit-Reset", time.time())) - time.time(), 0) + 1
        else:
            return False
        if wait > self.max_wait:
            raise SwegymError(f"GitHub API rate limit: the reset is {wait:.0f}s away (more than {self.max_wait:.0f}s); "
                              f"set GITHUB_TOKEN or retry later")
        self.sleep(wait)
        return True

    def get_all(self, path: str, per_page: int = 100, max_pages: int = 10) -> list[Any]:
        """A paginated list endpoint, page by page until a short page."""
        out: list[Any] = []
        for page in range(1, max_pages + 1):
            sep = "&" if "?" in path else "?"
            items = self.get(f"{path}{sep}per_page={per_page}&page={page}")
            if not items:
                break
            out.extend(items)
            if len(items) < per_page:
                break
        return out

    def pull(self, repo: str, number: int) -> dict[str, Any] | None:
        return self.get(f"/repos/{repo}/pulls/{number}")

    def pull_commits(self, repo: str, number: int) -> list[dict[str, Any]]:
        return self.get_all(f"/repos/{repo}/pulls/{number}/commits")

    def issue(self, repo: str, number: int | str) -> dict[str, Any] | None:
        return self.get(f"/repos/{repo}/issues/{number}")

    def issue_comments(self, repo: str, number: int | str) -> list[dict[str, Any]]:
        return self.get_all(f"/repos/{repo}/issues/{number}/comments")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


__all__ = ["GitHubClient", "DEFAULT_API", "default_cache_dir"]
