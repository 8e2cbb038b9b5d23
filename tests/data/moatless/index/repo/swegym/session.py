"""A persistent bash inside a container, driven over one attached ``docker exec`` stream.

Why not one ``docker exec`` per command: each exec costs ~70 ms of daemon round trips, and a
fresh process loses ``cd`` and ``export``. Here one bash reads commands from its stdin for the
whole session; a command round trip is a write and a read on an open socket (~1 ms).

Wire protocol (host → bash), one line per command, nothing for bash to mis-parse::

    read -r __swegym_up _ </proc/uptime; printf %s "$__swegym_up" >FILE; eval $'<command>' </dev/null; \
    printf '\\036%s%s:%s:%s\\037' A B "$?" "$PWD"

The command travels as an ANSI-C quoted string, so quotes, newlines or an unfinished heredoc in
it cannot desynchronise the shell; it reads ``/dev/null`` so it cannot swallow the next command.
The end marker carries the exit code and cwd, and its token is split in two so that ``set -x``
echoing the printf line never looks like a marker.

Timeouts: the shell writes the container's uptime (the command start) to /dev/shm before each
command. On timeout a second, already-running *control* bash (no fork needed, so it works even
when a fork bomb has used up the pids limit) stops and kills every process that started after
that moment, except the two shells — the command's whole process tree, background jobs and
``setsid`` escapees included — then the main shell prints its marker and stays usable. A command
that never returns control (a builtin ``while :; do :; done``) gets its shell replaced, keeping cwd.

The marker is searched in everything read, not just the tail of a read: a background job flooding
output cannot hide it. Housekeeping (``side()``: files, diff, reset) runs in the control shell with
its stderr kept apart from its stdout, and first reclaims the pids budget from the agent when less
than ``PIDS_RESERVE`` pids are left (a fork there would end the non-interactive control shell).

:class:`Terminal` is a third, optional shell on a pty for agents that expect a terminal (OpenHands).
"""
from __future__ import annotations

import re
import secrets
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from swegym.errors import InfrastructureError

START_FILE = "/dev/shm/.swegym_cmd_start"
SIDE_ERR = "/dev/shm/.swegym_side_err"  # the control commands' stderr  # tmpfs, out of the way of `rm -rf /tmp/*`
TRUNCATION_MARKER = "\n\n[... {omitted} characters of output omitted ...]\n\n"
MARKER_HOLD = 4096 + 256  # longest end marker: tokens, exit code and a PATH_MAX cwd
TIMEOUT_EXIT_CODE = 124  # what coreutils `timeout` returns; CommandResult.timed_out is the real signal

# Runs in the control shell; uses builtins only (read, kill, globbing) so it never forks.
PIDS_RESERVE = 16  # housekeeping forks only with this many pids to spare; otherwise the agent's go first
KILL_FUNCTION = r"""
__swegym_return() { return "$1"; }
# true when the container's pids budget is (nearly) spent: a fork now would make this
# non-interactive shell exit (bash gives up after its fork retries)
__swegym_pids_low() {
  local cur max
  { read -r cur </sys/fs/cgroup/pids.current && read -r max </sys/fs/cgroup/pids.max; } 2>/dev/null ||
    { read -r cur </sys/fs/cgroup/pids/pids.current && read -r max </sys/fs/cgroup/pids/pids.max; } 2>/dev/null ||
    return 1
  [[ $max == max ]] && return 1
  (( cur + PIDS_RESERVE >= max ))
}
__swegym_kill() {
  local start=$1; shift
  local -A keep=([1]=1 [$$]=1)
  local p line rest round n
  local -a f victims
  for p in "$@"; do keep[$p]=1; done
  # never older than the agent's shell ($1 after shift): the container's own processes stay
  if { read -r line </proc/$1/stat; } 2>/dev/null; then
    rest=${line##*) }; f=($rest)
    (( f[19] > start )) && start=${f[19]}
  fi
  for round in {1..200}; do
    victims=()
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [[ -n ${keep[$p]} ]] && continue
      { read -r line </proc/$p/stat; } 2>/dev/null || continue
      rest=${line##*) }
      f=($rest)
      [[ ${f[0]} == Z || ${f[0]} == X ]] && continue
      (( f[19] >= start )) && victims+=("$p")
    done
    (( ${#victims[@]} )) || break
    kill -STOP "${victims[@]}" 2>/dev/null
    kill -KILL "${victims[@]}" 2>/dev/null
  done
  return 0
}
"""


def ansi_c_quote(text: str) -> str:
    """Quote ``text`` as a bash ``$'...'`` word: one line, every byte preserved."""
    out = ["$'"]
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch == "'" or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    out.append("'")
    return "".join(out)


class OutputClipper:
    """Keeps the first and last ``limit/2`` bytes of a stream plus a count: memory stays bounded."""

    def __init__(self, limit: int, reserve: int = 4096) -> None:
        self.limit = max(int(limit), 0)
        self.head_cap = self.limit // 2
        self.tail_cap = self.limit - self.head_cap
        self.reserve = reserve  # room for an end marker that sits at the very end
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        if len(self.head) < self.head_cap:
            take = self.head_cap - len(self.head)
            self.head += data[:take]
            data = data[take:]
        if data:
            self.tail += data
            keep = self.tail_cap + self.reserve
            if len(self.tail) > 2 * keep:
                del self.tail[: len(self.tail) - keep]

    def result(self) -> tuple[str, bool]:
        """Decoded output (head + omission note + tail when over the limit) and a truncated flag."""
        head, tail = bytes(self.head), bytes(self.tail)
        body_total = self.total
        kept_tail = tail[-self.tail_cap:] if self.tail_cap else b""
        if body_total <= self.limit or len(head) + len(tail) <= self.limit:
            return (head + tail).decode("utf-8", "replace"), False
        omitted = body_total - len(head) - len(kept_tail)
        text = head.decode("utf-8", "replace") + TRUNCATION_MARKER.format(omitted=omitted) + kept_tail.decode(
            "utf-8", "replace")
        return text, True


@dataclass
class Reply:
    exit_code: int
    output: str
    truncated: bool
    cwd: str
    done: bool  # False when the deadline passed before the marker arrived


class ShellStream:
    """One bash process over an attached exec socket: send a line, read frames until a marker."""

    def __init__(self, api: Any, container_id: str, *, env: dict[str, str] | None = None, workdir: str | None = None,
                 init: str = "") -> None:
        self.api = api
        self.container_id = container_id
        self.token_a = secrets.token_hex(6)
        self.token_b = secrets.token_hex(6)
        self.marker_re = re.compile(
            rb"\x1e" + self.token_a.encode() + self.token_b.encode() + rb":(-?\d+):([^\x1f]*)\x1f")
        try:
            self.exec_id = api.exec_create(
                container_id, ["/bin/bash", "--noprofile", "--norc"], stdin=True, stdout=True, stderr=True, tty=False,
                environment=env or {}, workdir=workdir,
            )["Id"]
            raw = api.exec_start(self.exec_id, socket=True, tty=False)
        except Exception as exc:  # docker.errors.APIError, requests errors
            raise InfrastructureError(f"could not start a shell in container {container_id[:12]}", cause=str(exc)) from exc
        self._raw = raw
        self.sock = getattr(raw, "_sock", raw)
        self._buf = bytearray()  # undecoded frame bytes
        self.lock = threading.RLock()
        self.closed = False
        self.pid = 0
        reply = self.call("exec 2>&1; set +o history 2>/dev/null; " + init + "\nprintf %s $$", timeout=30)
        if not reply.done:
            raise InfrastructureError("the sandbox shell did not answer within 30 s",
                                      cause=f"container {container_id[:12]} shell startup timeout")
        try:
            self.pid = int(reply.output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise InfrastructureError("the sandbox shell did not start cleanly", cause=reply.output[-500:]) from None

    # -- low level ---------------------------------------------------------------------------
    def send(self, line: str) -> None:
        data = line.encode("utf-8", "surrogateescape")
        if not data.endswith(b"\n"):
            data += b"\n"
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.closed = True
            raise ShellGone(str(exc)) from exc

    def _recv(self, timeout: float | None) -> bytes | None:
        """One chunk from the socket; None on timeout, b'' on EOF."""
        if timeout is not None and timeout <= 0:
            timeout = 0
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
        except (ValueError, OSError):
            return b""
        if not ready:
            return None
        try:
            chunk = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return None
        except OSError:
            return b""
        return chunk

    def _payloads(self, chunk: bytes) -> list[bytes]:
        """Strip the 8-byte multiplexing headers of a non-TTY exec stream."""
        self._buf += chunk
        out: list[bytes] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while n - pos >= 8:
            size = struct.unpack_from(">I", buf, pos + 4)[0]
            if n - pos - 8 < size:
                break
            out.append(bytes(buf[pos + 8: pos + 8 + size]))
            pos += 8 + size
        if pos:
            del buf[:pos]
        return out

    def marker_cmd(self) -> str:
        return f"printf '\\036%s%s:%s:%s\\037' {self.token_a} {self.token_b} \"$?\" \"$PWD\""

    def call(self, body: str, timeout: float | None = None, output_limit: int = 1 << 62,
             on_deadline: Callable[[], float | None] | None = None) -> Reply:
        """Send ``body`` (raw shell text ending before the marker printf) and read the reply.

        One caller at a time: a second thread waits rather than interleaving on the stream.
        """
        with self.lock:
            self.send(f"{body}\n{self.marker_cmd()}\n")
            return self.read_reply(timeout, output_limit, on_deadline)

    def read_reply(self, timeout: float | None, output_limit: int,
                   on_deadline: Callable[[], float | None] | None = None) -> Reply:
        """Read until the end marker, wherever it lands in a chunk (a background flood can put it
        anywhere in a 1 MB read); only the last ``MARKER_HOLD`` bytes are held back, in case a
        marker is split between reads. Everything before the marker is the output."""
        clip = OutputClipper(output_limit)
        held = b""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                if on_deadline is not None:
                    extra = on_deadline()
                    on_deadline = None
                    if extra is not None:
                        deadline = time.monotonic() + extra
                        continue
                clip.feed(held)
                text, truncated = clip.result()
                return Reply(-1, text, truncated, "", False)
            chunk = self._recv(remaining)
            if chunk is None:
                continue
            if chunk == b"":
                self.closed = True
                clip.feed(held)
                text, truncated = clip.result()
                raise ShellGone("shell stream closed", partial=text)
            for payload in self._payloads(chunk):
                data = held + payload
                match = self.marker_re.search(data)
                if match is not None:  # bytes after the marker are late background output: dropped
                    clip.feed(data[: match.start()])
                    text, truncated = clip.result()
                    return Reply(int(match.group(1)), text, truncated, match.group(2).decode("utf-8", "replace"),
                                 True)
                cut = max(len(data) - MARKER_HOLD, 0)
                clip.feed(data[:cut])
                held = data[cut:]

    def exit_code(self) -> int | None:
        """The shell's exit code once it has ended (None if unknown)."""
        for _ in range(20):
            try:
                info = self.api.exec_inspect(self.exec_id)
            except Exception:
                return None
            if not info.get("Running"):
                return info.get("ExitCode")
            time.sleep(0.05)
        return None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for obj in (self.sock, self._raw):
            try:
                obj.close()
            except Exception:
                pass


_FORK_FAILED = re.compile(r"fork: |Resource temporarily unavailable")


class ShellGone(InfrastructureError):
    """The shell's stream ended (the shell exited or was killed).

    Handled inside the session; should one escape (the container vanished while a new shell was
    being started), it is what it looks like: an infrastructure failure.
    """

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


class Session:
    """The sandbox's persistent shell plus a control shell that enforces timeouts."""

    def __init__(self, api: Any, container_id: str, *, env: dict[str, str] | None = None, workdir: str = "/testbed",
                 init: str = "", is_alive: Callable[[], tuple[bool, str]] | None = None) -> None:
        self.api = api
        self.container_id = container_id
        self.env = dict(env or {})
        self.workdir = workdir
        self.init = init
        self.cwd = workdir
        self.is_alive = is_alive or (lambda: (True, ""))
        self.terminals: list[Terminal] = []
        # start both shells at once: each is a couple of daemon round trips
        box: dict[str, Any] = {}

        def start_control() -> None:
            try:
                box["control"] = ShellStream(api, container_id, env=self.env, workdir="/", init=KILL_FUNCTION)
            except BaseException as exc:  # re-raised below in the caller's thread
                box["error"] = exc

        helper = threading.Thread(target=start_control, daemon=True)
        helper.start()
        try:
            self.shell = self._new_shell(workdir)
        finally:
            helper.join()
        if "error" in box:
            self.shell.close()
            raise box["error"]
        self.control = box["control"]

    def _new_shell(self, cwd: str) -> ShellStream:
        init = f"{self.init}\ncd {ansi_c_quote(cwd)} 2>/dev/null || true"
        return ShellStream(self.api, self.container_id, env=self.env, workdir=cwd, init=init)

    # -- the one public operation --------------------------------------------------------------
    def run(self, command: str, timeout: float, output_limit: int) -> tuple[int, str, bool, bool]:
        """Run ``command``; return (exit code, output, timed_out, truncated)."""
        body = (f"read -r __swegym_up _ </proc/uptime; printf %s \"$__swegym_up\" 2>/dev/null >{START_FILE}; "
                f"eval {ansi_c_quote(command)} </dev/null")
        killed: list[bool] = []

        def on_deadline() -> float:
            self._kill_command()
            killed.append(True)
            return 3.0  # grace for the marker once the command's processes are gone

        timeout = 10 ** 9 if timeout is None else max(float(timeout), 0.0)
        try:
            reply = self.shell.call(body, timeout=timeout, output_limit=output_limit,
                                    on_deadline=on_deadline)
        except ShellGone as gone:
            return self._after_shell_death(gone, bool(killed))
        if reply.done:
            self.cwd = reply.cwd or self.cwd
            if killed:
                return TIMEOUT_EXIT_CODE, reply.output, True, reply.truncated
            return reply.exit_code, reply.output, False, reply.truncated
        # Still no marker after the kill: the shell itself is stuck (a builtin loop). Replace it.
        self._replace_shell()
        note = "\n[the command timed out and kept the shell busy; a new shell was started in the same directory]"
        return TIMEOUT_EXIT_CODE, reply.output + note, True, reply.truncated

    def side(self, script: str, timeout: float = 120.0) -> tuple[int, str]:
        """Run ``script`` in the control shell (its own cwd/env; the agent cannot disturb it).

        Returns (exit code, stdout); stderr (the script's and bash's own ``fork: retry`` lines) goes
        to a file and is appended only when the script fails, so it never lands inside a result
        such as a diff. If the script could not fork because the agent's processes hold the
        container's whole pids budget (a fork bomb), those processes are killed (the control shell
        needs no fork for that) and the script runs once more: the agent's pid use can never
        block housekeeping.
        """
        code, out, err = self._side_once(script, timeout)
        if code != 0 and _FORK_FAILED.search(err):
            self._kill_agent_processes()
            code, out, err = self._side_once(script, timeout)
        if code != 0 and err:
            out = out + err
        return code, out

    def _side_once(self, script: str, timeout: float) -> tuple[int, str, str]:
        # builtins only around the script: with no pid left, the outcome still comes back
        body = (f"PIDS_RESERVE={PIDS_RESERVE}; __swegym_pids_low && __swegym_kill 0 {self._keep_pids()}; "
                f": >{SIDE_ERR}; {{ ( {script}\n) </dev/null 2>>{SIDE_ERR}; }} 2>>{SIDE_ERR}; __rc=$?; "
                f"if (( __rc )); then IFS= read -r -d '' __e <{SIDE_ERR}; printf '\\035%s' \"$__e\"; fi; "
                f"__swegym_return $__rc")
        try:
            reply = self.control.call(body, timeout=timeout)
        except ShellGone as gone:
            alive, why = self.is_alive()
            raise InfrastructureError("the sandbox control shell died", cause=why or str(gone)) from None
        if not reply.done:
            raise InfrastructureError(f"sandbox housekeeping command timed out after {timeout:.0f}s",
                                      cause=script[:200])
        out, err = reply.output, ""
        if reply.exit_code != 0 and "\x1d" in out:
            out, err = out.rsplit("\x1d", 1)
        return reply.exit_code, out, err

    def _keep_pids(self) -> str:
        """The main shell first (its start time bounds what is killed), then the agent terminals."""
        return " ".join(str(p) for p in [self.shell.pid] + [t.pid for t in self.terminals if not t.closed])

    def _kill_agent_processes(self) -> None:
        """Every process but the container's init, the shells and terminals (builtins only: no fork)."""
        try:
            self.control.call(f"__swegym_kill 0 {self._keep_pids()}", timeout=20)
        except ShellGone:
            pass

    # -- internals ---------------------------------------------------------------------------
    def _kill_command(self) -> None:
        try:
            reply = self.control.call(
                f"read -r __s <{START_FILE} 2>/dev/null; __s=${{__s/./}}; __swegym_kill \"${{__s:-0}}\" {self.shell.pid}",
                timeout=20)
        except ShellGone:
            reply = None
        if reply is None or not reply.done:
            alive, why = self.is_alive()
            if not alive:
                raise InfrastructureError("the sandbox container died during a command", cause=why)
            raise InfrastructureError("could not stop a timed-out command", cause="control shell unresponsive")

    def _replace_shell(self) -> None:
        try:
            self.control.call(f"kill -KILL {self.shell.pid} 2>/dev/null; true", timeout=10)
        except ShellGone:
            pass
        self.shell.close()
        self.shell = self._new_shell(self.cwd)

    def _after_shell_death(self, gone: ShellGone, killed: bool) -> tuple[int, str, bool, bool]:
        code = self.shell.exit_code()
        alive, why = self.is_alive()
        if not alive:
            raise InfrastructureError("the sandbox container died", cause=why)
        self.shell.close()
        try:
            self.shell = self._new_shell(self.cwd)
        except ShellGone as again:
            raise InfrastructureError("the sandbox container died", cause=str(again)) from None
        if code is not None and code >= 128 and not killed:
            raise InfrastructureError(
                f"the sandbox shell was killed by signal {code - 128} (out of memory?); a new shell was started",
                cause=f"shell exit code {code}")
        note = f"\n[the shell exited with code {code}; a new shell was started in {self.cwd}]"
        return (code if code is not None else -1), gone.partial + note, killed, False

    def open_terminal(self, workdir: str) -> "Terminal":
        """A pty bash for an agent that expects one (OpenHands); closed with the session."""
        terminal = Terminal(self, workdir, init=self.init)
        self.terminals = [t for t in self.terminals if not t.closed] + [terminal]
        return terminal

    def close(self) -> None:
        for terminal in self.terminals:
            terminal.close()
        self.shell.close()
        self.control.close()


# -- the agent's terminal ------------------------------------------------------------------------
INTERRUPT_WAIT = 1.0  # the fork waits 1 s for a prompt after each SIGINT, twice, then sends ctrl-z
EMPTY_COMMAND_WAIT = 5.0  # the fork's SOFT_TIMEOUT_SECONDS: what an empty command waits for output


@dataclass
class TerminalReply:
    output: str
    exit_code: int
    done: bool  # a prompt came back (False: the wait ran out first)
    python: str = ""
    cwd: str = ""


class Terminal(ShellStream):
    """An interactive bash on a pty, as the SWE-Gym OpenHands fork drove one through pexpect.

    Why a pty: programs see a terminal as they did upstream (``ls`` prints columns for 80
    columns, ``python`` opens its prompt, output lines end in ``\\r\\n``), and ``ctrl-c`` /
    ``ctrl-z`` reach the foreground job through the line discipline. Why readline stays on:
    its ``^C`` echo at the prompt is part of what the agent saw. The fork's prompt marker is a
    ``PS1``; here ``PROMPT_COMMAND`` prints swegym's split-token marker (exit code, ``type -P
    python``, ``$PWD``) with builtins only, so a command round trip costs no extra process.
    Each command travels as one ``eval $'...'`` line (no continuation prompts, no desync); the
    session's control shell remains the last resort for a command that ignores SIGINT and SIGTSTP.
    """

    def __init__(self, session: "Session", workdir: str, init: str = "") -> None:
        self.api = session.api
        self.container_id = session.container_id
        self.session = session
        self.token_a = secrets.token_hex(6)
        self.token_b = secrets.token_hex(6)
        self.marker_re = re.compile(
            rb"\x1e" + self.token_a.encode() + self.token_b.encode() + rb":(-?\d+):([^\x1f]*)\x1f")
        env = dict(session.env)
        env.setdefault("TERM", "dumb")
        try:
            self.exec_id = self.api.exec_create(
                self.container_id, ["/bin/bash", "--noprofile", "--norc", "-i"], stdin=True, stdout=True,
                stderr=True, tty=True, environment=env, workdir=workdir)["Id"]
            raw = self.api.exec_start(self.exec_id, socket=True, tty=True)
        except Exception as exc:
            raise InfrastructureError(f"could not start a terminal in container {self.container_id[:12]}",
                                      cause=str(exc)) from exc
        self._raw = raw
        self.sock = getattr(raw, "_sock", raw)
        self._buf = bytearray()
        self.lock = threading.RLock()
        self.closed = False
        try:  # pexpect's default window: 24 rows, 80 columns
            self.api.exec_resize(self.exec_id, height=24, width=80)
        except Exception:
            pass
        # one write per prompt, builtins only: `hash` finds python on PATH as `which` would
        prompt_command = (f"__swegym_rc=$?; unset 'BASH_CMDS[python]'; hash python 2>/dev/null; "
                          f"printf '\\036%s%s:%s:%s\\035%s\\037' {self.token_a} {self.token_b} \"$__swegym_rc\" "
                          "\"${BASH_CMDS[python]}\" \"$PWD\"")
        setup = (f"stty -echo cols 80 rows 24; umask 002; PS1=''; PS2=''; unset HISTFILE; set +o history; "
                 f"{init}; cd {ansi_c_quote(workdir)} 2>/dev/null; printf '\\035PID%s\\035' $$; "
                 f"PROMPT_COMMAND={ansi_c_quote(prompt_command)}")
        self.send(setup)
        reply = self.read_reply(30, 1 << 20)
        found = re.search(r"\x1dPID(\d+)\x1d", reply.output)
        if not reply.done or not found:
            raise InfrastructureError("the sandbox terminal did not start cleanly", cause=reply.output[-500:])
        self.pid = int(found.group(1))
        self.sent_at = time.monotonic()

    def _payloads(self, chunk: bytes) -> list[bytes]:
        return [chunk]  # a tty exec stream is raw bytes, no multiplexing headers

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.closed = True
            raise ShellGone(str(exc)) from exc

    def wait(self, timeout: float, output_limit: int) -> TerminalReply:
        """Read until the next prompt or ``timeout``."""
        reply = self.read_reply(timeout, output_limit)
        if not reply.done:
            return TerminalReply(reply.output, -1, False)
        python, _, cwd = reply.cwd.partition("\x1d")
        return TerminalReply(reply.output, reply.exit_code, True, python.strip(), cwd)

    def execute(self, command: str, timeout: float, output_limit: int) -> TerminalReply:
        """Send one command line and wait for its prompt (no interrupt: see :meth:`interrupt`)."""
        with self.lock:
            self.sent_at = time.monotonic()  # for kill_command: no per-command start file to write
            self.send(f"eval {ansi_c_quote(command)}")
            return self.wait(timeout, output_limit)

    def line(self, text: str, timeout: float, output_limit: int) -> TerminalReply:
        with self.lock:
            self.send(text)
            return self.wait(timeout, output_limit)

    def interrupt(self, key: bytes, timeout: float, output_limit: int) -> TerminalReply:
        """Type a control key (``\\x03`` ctrl-c, ``\\x1a`` ctrl-z) and wait for a prompt."""
        with self.lock:
            self.send_raw(key)
            return self.wait(timeout, output_limit)

    def close(self) -> None:
        """Closing the tty stream does not end the bash behind it: the control shell kills it."""
        if self.closed:
            return
        try:
            self.session.control.call(f"kill -KILL {self.pid} 2>/dev/null; true", timeout=10)
        except Exception:  # noqa: BLE001 - the container may be gone already
            pass
        super().close()

    def kill_command(self) -> None:
        """Last resort (SIGINT and SIGTSTP ignored): the control shell kills what the command started."""
        session = self.session
        try:
            # processes started since the command was sent (0.2 s of slack), as container uptime ticks
            ago = int((time.monotonic() - self.sent_at) * 100) + 20
            session.control.call(
                f"read -r __s _ </proc/uptime; __s=${{__s/./}}; "
                f"__swegym_kill $(( 10#$__s - {ago} )) {self.pid} {session.shell.pid}", timeout=20)
        except ShellGone:
            pass
        try:
            self.send_raw(b"\x03")  # a fresh prompt once the job is gone
        except ShellGone:
            pass
