"""DockerSandbox: one container per task, one persistent shell, repo at base_commit in /testbed."""
from __future__ import annotations

import base64
import binascii
import io
import posixpath
import re
import tarfile
import time
from typing import Any

from swegym.diffs import strip_binary
from swegym.errors import InfrastructureError, RepositoryError, SandboxKilled
from swegym.interfaces import DEFAULT_OUTPUT_LIMIT, Sandbox
from swegym.types import CommandResult, Task

from . import hygiene
from .session import Session, ansi_c_quote

# SWE-bench images keep the test environment in a conda env that login shells activate.
SHELL_INIT = (
    "if [ -f /opt/miniconda3/bin/activate ]; then . /opt/miniconda3/bin/activate testbed 2>/dev/null; fi; "
    "cd /testbed 2>/dev/null || true"
)
SHELL_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "MANPAGER": "cat", "TERM": "dumb", "PIP_PROGRESS_BAR": "off",
             "PYTHONUNBUFFERED": "1"}


# Write failures that are the sandbox's state, not the path the agent chose.
_SANDBOX_BROKEN = re.compile(r"No space left on device|Read-only file system|Input/output error|Disk quota exceeded")


def new_session(api: Any, container_id: str) -> Session:
    """The sandbox's two shells, started in /testbed with the sandbox environment."""
    return Session(api, container_id, env=SHELL_ENV, workdir="/testbed", init=SHELL_INIT)


class DockerSandbox(Sandbox):
    """A live container for one task. Use as a context manager; ``close()`` removes the container."""

    repo_dir = "/testbed"

    def __init__(self, runtime: Any, container: Any, task: Task, image: str, run_id: str,
                 session: Session | None = None) -> None:
        self.runtime = runtime
        self.container = container
        self.task = task
        self.image = image
        self.run_id = run_id
        self.api = runtime.client.api
        self._closed = False
        self.session = session or new_session(self.api, container.id)
        self.session.is_alive = self._alive
        self._opened_at = int(time.time())

    # -- liveness -----------------------------------------------------------------------------
    def _alive(self) -> tuple[bool, str]:
        try:
            state = self.api.inspect_container(self.container.id)["State"]
        except Exception as exc:
            return False, f"container {self.container.id[:12]} is gone: {exc}"
        if state.get("Running"):
            return True, ""
        return False, (f"container {self.container.id[:12]} stopped: status={state.get('Status')} "
                       f"exit={state.get('ExitCode')} oom_killed={state.get('OOMKilled')} {state.get('Error') or ''}")

    def _blame(self, exc: InfrastructureError) -> InfrastructureError:
        """Who broke the sandbox? The inside (agent, patch) → SandboxKilled; the daemon or an outside
        kill/removal → the InfrastructureError as it was.

        Inside: the daemon answers, the container still exists, and no kill/stop/destroy request
        for it reached the daemon (``docker kill``, ``rm -f``, a cleanup all log one; a process that
        kills PID 1's child from inside, an OOM kill, or SIGSTOP do not).
        """
        if isinstance(exc, SandboxKilled) or self._closed:
            return exc
        if getattr(self, "disk_exceeded", None):
            limit = getattr(self.runtime, "disk_limit", None)
            return SandboxKilled(f"the sandbox wrote {self.disk_exceeded / 2**20:.0f} MiB, over its disk limit "
                                 f"({(limit or 0) / 2**20:.0f} MiB, runtime option disk_limit): {exc}",
                                 reason="disk_limit", cause=f"disk_limit: {exc.cause}")
        try:
            state = self.api.inspect_container(self.container.id)["State"]
            now = int(time.time()) + 1
            outside = list(self.api.events(since=self._opened_at - 5, until=now, decode=True,
                                           filters={"container": self.container.id,
                                                    "event": ["kill", "stop", "destroy", "pause"]}))
        except Exception:  # noqa: BLE001 - daemon unreachable or container removed: infrastructure
            return exc
        if outside:
            return exc
        reason = "out_of_memory" if state.get("OOMKilled") else "sandbox_killed"
        return SandboxKilled(f"the sandbox was broken from inside ({reason}): {exc}", reason=reason,
                             cause=f"{reason}: {exc.cause}")

    def _side(self, script: str, timeout: float = 120.0) -> tuple[int, str]:
        """A housekeeping command in the control shell; a broken sandbox is blamed on whoever broke it."""
        try:
            return self.session.side(script, timeout=timeout)
        except InfrastructureError as exc:
            raise self._blame(exc) from exc

    def _check(self) -> None:
        if self._closed:
            raise InfrastructureError("sandbox already closed", cause="use after close()")

    # -- Sandbox API ----------------------------------------------------------------------------
    def run(self, command: str, timeout: float = 120.0, output_limit: int = DEFAULT_OUTPUT_LIMIT) -> CommandResult:
        self._check()
        start = time.monotonic()
        try:
            code, output, timed_out, truncated = self.session.run(command, timeout, output_limit)
        except InfrastructureError as exc:
            raise self._blame(exc) from exc
        return CommandResult(exit_code=code, output=output, timed_out=timed_out, truncated=truncated,
                             duration_s=time.monotonic() - start)

    def _abs(self, path: str) -> str:
        return path if path.startswith("/") else posixpath.join(self.repo_dir, path)

    # Files move through the control shell as base64 (~2 ms). Docker's archive API costs ~90 ms of
    # daemon CPU per call (it re-executes dockerd to tar in the container's root); it is kept for
    # files above this size, where one base64 line through bash would cost more.
    SHELL_FILE_LIMIT = 1 << 20

    def read_file(self, path: str) -> str:
        self._check()
        path = self._abs(path)
        q = ansi_c_quote(path)
        code, out = self._side(
            f"f={q}; [ -d \"$f\" ] && exit 21; [ -e \"$f\" ] || exit 22; "
            f"[ \"$(stat -L -c %s -- \"$f\")\" -le {self.SHELL_FILE_LIMIT} ] || exit 24; "
            "command -v base64 >/dev/null || exit 24; base64 -w0 -- \"$f\"")
        if code == 21:
            raise IsADirectoryError(f"{path} is a directory")
        if code == 22:
            raise FileNotFoundError(f"{path} does not exist in the sandbox")
        if code == 0:
            try:
                return base64.b64decode(out.strip(), validate=True).decode("utf-8", "replace")
            except binascii.Error:
                pass  # something else wrote to the output; the archive API is exact
        return self._read_archive(path)

    def _read_archive(self, path: str) -> str:
        import docker

        try:
            stream, _stat = self.api.get_archive(self.container.id, path)
        except docker.errors.NotFound:
            raise FileNotFoundError(f"{path} does not exist in the sandbox") from None
        except docker.errors.APIError as exc:
            raise InfrastructureError(f"could not read {path} from the sandbox", cause=str(exc)) from exc
        data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            if member is None or member.isdir():
                raise IsADirectoryError(f"{path} is a directory")
            while member is not None and member.issym():
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), member.linkname))
                return self._read_archive(target)
            fh = tar.extractfile(member)
            content = fh.read() if fh else b""
        return content.decode("utf-8", "replace")

    def write_file(self, path: str, content: str) -> None:
        """Write ``content``; parent directories are created, an existing file keeps its mode."""
        self._check()
        path = self._abs(path)
        data = content.encode("utf-8", "surrogateescape")
        q, parent = ansi_c_quote(path), ansi_c_quote(posixpath.dirname(path) or "/")
        if len(data) <= self.SHELL_FILE_LIMIT:
            # `>` truncates in place: an existing file keeps its mode and owner (and a symlink its target).
            code, out = self._side(
                f"command -v base64 >/dev/null || exit 24; mkdir -p -- {parent} && "
                f"printf %s {base64.b64encode(data).decode()} | base64 -d > {q}")
            if code == 0:
                return
            if code != 24:
                message = out.strip()[-500:] or f"exit code {code}"
                if _SANDBOX_BROKEN.search(message):
                    raise InfrastructureError(f"could not write {path} into the sandbox", cause=message)
                raise OSError(f"could not write {path}: {message}")  # the path's fault: the agent sees it
        self._write_archive(path, data)

    def _write_archive(self, path: str, data: bytes) -> None:
        code, out = self._side(f"if [ -f {ansi_c_quote(path)} ]; then stat -c %a {ansi_c_quote(path)}; fi; "
                                      f"mkdir -p {ansi_c_quote(posixpath.dirname(path) or '/')}")
        mode = int(out.strip(), 8) if code == 0 and out.strip().isdigit() else 0o644
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(posixpath.basename(path))
            info.size = len(data)
            info.mode = mode
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
        try:
            ok = self.api.put_archive(self.container.id, posixpath.dirname(path) or "/", buf.getvalue())
        except Exception as exc:
            raise InfrastructureError(f"could not write {path} into the sandbox", cause=str(exc)) from exc
        if not ok:
            raise InfrastructureError(f"could not write {path} into the sandbox", cause="put_archive returned false")

    def terminal(self, workdir: str | None = None):
        """An interactive pty shell (the OpenHands runtime's kind); see :class:`session.Terminal`."""
        self._check()
        return self.session.open_terminal(workdir or self.repo_dir)

    def diff(self, repo_dir: str | None = None) -> str:
        self._check()
        repo = ansi_c_quote(repo_dir or self.repo_dir)
        base = ansi_c_quote(self.task.base_commit)
        # A private index: the agent's staging area is left alone; `add -A` makes new files show up.
        script = (f"cd {repo} && idx=$(mktemp) && trap 'rm -f \"$idx\"' EXIT && "
                  f"{{ cp .git/index \"$idx\" 2>/dev/null || true; }} && "
                  f"GIT_INDEX_FILE=\"$idx\" git add -A >/dev/null 2>&1 && "
                  f"GIT_INDEX_FILE=\"$idx\" git -c core.quotepath=false diff --cached --no-color --no-ext-diff "
                  f"--no-renames {base} --")
        code, out = self._side(script, timeout=300)
        if code != 0:
            raise RepositoryError(f"git diff in {repo_dir or self.repo_dir} failed (exit {code}): {out[-1000:]}")
        return strip_binary(out)

    def reset(self) -> None:
        self._check()
        repo = ansi_c_quote(self.repo_dir)
        script = f"cd {repo} && git reset -q --hard {ansi_c_quote(self.task.base_commit)} -- && git clean -fdq"
        code, out = self._side(script, timeout=300)
        if code != 0:
            raise InfrastructureError(f"reset to {self.task.base_commit[:10]} failed (exit {code})", cause=out[-1000:])

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.session.close()
        finally:
            hygiene.remove_container(self.api, self.container.id)
