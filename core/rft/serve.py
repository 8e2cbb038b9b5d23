"""Serve a checkpoint behind an OpenAI-compatible URL for one iteration's sampling.

Why: with a vLLM (or SGLang) server, the loop cannot load a new checkpoint in-process. The user
gives a command template; the loop fills in the checkpoint, starts it, waits until
``{api_base}/models`` answers, samples, then stops the whole process group.

Placeholders: ``{model}`` (checkpoint folder, shell-quoted), ``{name}`` (served model name),
``{port}`` and ``{host}`` (from the API base URL).
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from ..errors import InfrastructureError, SwegymError


def render_command(template: str, *, model: str, name: str, api_base: str) -> str:
    """Fill the serve-command template; an unknown placeholder is a usage error."""
    url = urlparse(api_base)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        return template.format(model=shlex.quote(str(model)), name=shlex.quote(name), port=port,
                               host=url.hostname or "127.0.0.1")
    except (KeyError, IndexError) as exc:
        raise SwegymError(f"rft: --serve-cmd has an unknown placeholder {exc}; use {{model}}, {{name}}, {{port}}, "
                          "{host}") from None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class ModelServer:
    """A serve command run as a child process group, ready once its ``/models`` lists ``name``."""

    def __init__(self, template: str, *, model: str, name: str, api_base: str, log_path: Path,
                 timeout: float = 900.0, poll_s: float = 0.5, log: Callable[[str], Any] = print) -> None:
        self.command = render_command(template, model=model, name=name, api_base=api_base)
        self.name, self.api_base, self.log_path = name, api_base.rstrip("/"), Path(log_path)
        self.timeout, self.poll_s, self.log = timeout, poll_s, log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "ModelServer":
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log(f"serving: {self.command}  (log: {self.log_path})")
        with self.log_path.open("ab") as fh:
            self.proc = subprocess.Popen(self.command, shell=True, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def ready(self) -> bool:
        """Whether ``/models`` answers 200 and (when it lists models) includes ``name``."""
        try:
            with urllib.request.urlopen(f"{self.api_base}/models", timeout=5) as resp:
                if resp.status != 200:
                    return False
                body = resp.read()
        except (urllib.error.URLError, OSError, ValueError):
            return False
        try:
            ids = [m.get("id") for m in json.loads(body).get("data", [])]
        except (ValueError, AttributeError):
            return True
        return not ids or self.name in ids

    def wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise InfrastructureError(f"serve command exited with code {code} before {self.api_base} was ready; "
                                          f"last lines of {self.log_path}:\n{_tail(self.log_path)}")
            if self.ready():
                self.log(f"serving: {self.name} ready at {self.api_base}")
                return
            time.sleep(self.poll_s)
        raise InfrastructureError(f"{self.api_base}/models did not list {self.name!r} within {self.timeout:.0f}s; "
                                  f"see {self.log_path} (raise --serve-timeout for large models)")

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace_s``. Safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is not None:  # the leader is gone; its children may not be
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
            return
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
