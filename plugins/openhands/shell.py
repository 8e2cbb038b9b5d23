"""``execute_bash`` as the SWE-Gym OpenHands fork ran it (``openhands/runtime/utils/bash.py``).

The fork (v2.1 and 0.13.1 alike) split the command string with bashlex, sent each part to an
interactive bash on a pty, echoed it, and stopped at the first part with a non-zero exit code.
A part that outlived the timeout got ctrl-c (the agent reads ``[Command timed out after N
seconds. SIGINT was sent to interrupt the command.]``, exit 130), then a second ctrl-c, then
ctrl-z and ``kill -9 %1``. An empty command waited 5 s for more output (exit -1); ``ctrl+c``
interrupted (exit 130). The prompt's ``[Python Interpreter: …]`` and ``user@host:cwd #`` line is
kept once, from the last part, as ``interpreter_details``.

This module rebuilds those semantics on swegym's :class:`swegym_docker.session.Terminal` (the
same pty behaviour, with swegym's marker protocol underneath). A sandbox without a terminal gets
the same splitting and texts over ``sandbox.run`` (no pty: see docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from swegym import Sandbox

from .observations import HOSTNAME

# bash's complaint when a command string ends inside a construct (the fork's bash kept reading)
_INCOMPLETE = re.compile(r"(?:bash: (?:eval: )?(?:line \d+: )?(?:unexpected EOF while looking for matching .{1,3}"
                         r"|syntax error: unexpected end of file)\r\n)+")
INTERRUPT_WAIT = 1.0
INTERRUPT_TRIES = 2
EMPTY_COMMAND_WAIT = 5.0
TIMEOUT_TEXT = "[Command timed out after {seconds} seconds. SIGINT was sent to interrupt the command.]"
INTERRUPT_TEXT = "[SIGINT was sent to interrupt the command.]"
KILLED_TEXT = ("[{prefix}SIGINT was sent to interrupt the command, but failed. The command was killed.]")


def split_commands(commands: str) -> list[str]:
    """The fork's ``split_bash_commands``: one entry per top-level bashlex node.

    Text between nodes (separators, comments) is appended to the previous entry, trailing text to
    the last; every entry is right-stripped. Unparsable input stays one entry; blank input is ``['']``.
    """
    import bashlex

    if not commands.strip():
        return [""]
    try:
        nodes = bashlex.parse(commands)
    except bashlex.errors.ParsingError:
        return [commands]
    parts: list[str] = []
    last_end = 0
    for node in nodes:
        start, end = node.pos
        if start > last_end:
            gap = commands[last_end:start]
            if parts:
                parts[-1] += gap.rstrip()
            elif gap.strip():
                parts.append(gap.rstrip())
        parts.append(commands[start:end].rstrip())
        last_end = end
    rest = commands[last_end:].rstrip()
    if last_end < len(commands):
        if parts:
            parts[-1] += rest
        elif rest:
            parts.append(rest)
    return parts


def prompt_text(python: str, user: str, cwd: str) -> str:
    """The fork's re-assembled PS1: interpreter line, ``user@openhands-workspace:cwd #``."""
    other = f"[Python Interpreter: {python}]" if python else ""
    return f"{other}\n{user}@{HOSTNAME}:{cwd} {'#' if user == 'root' else '$'} "


def parse_exit_code(output: str) -> int:
    """The fork read ``echo $?``'s output; anything that is not a number counted as 2."""
    try:
        return int(output.strip().split()[0])
    except (ValueError, IndexError):
        return 2


@dataclass
class CmdOutput:
    """The fork's CmdOutputObservation fields the agent sees."""

    content: str
    exit_code: int
    interpreter_details: str = ""
    timed_out: bool = False


class ForkBash:
    """One agent's ``execute_bash``: a pty terminal driven with the fork's rules."""

    def __init__(self, sandbox: Sandbox, workdir: str, timeout: float, output_limit: int, user: str = "root"):
        self.sandbox = sandbox
        self.timeout = timeout
        self.output_limit = output_limit
        self.user = user
        self.workdir = workdir
        opener = getattr(sandbox, "terminal", None)
        self.terminal: Any = opener(workdir) if callable(opener) else None

    def close(self) -> None:
        """End the terminal (its bash gets a hang-up): a sandbox reused by later episodes keeps no shells."""
        if self.terminal is not None:
            self.terminal.close()

    # -- one action ----------------------------------------------------------------------
    def run(self, command: str, timeout: float | None = None) -> CmdOutput:
        """Run an ``execute_bash`` command string; ``timeout`` overrides the scaffold's for this call."""
        saved = self.timeout
        if timeout is not None:
            self.timeout = timeout
        try:
            return self._run(command)
        finally:
            self.timeout = saved

    def _run(self, command: str) -> CmdOutput:
        all_output = ""
        interpreter = ""
        exit_code = 0
        timed_out = False
        for part in split_commands(command):
            if part == "":
                output, exit_code = self._empty()
            elif part.lower() == "ctrl+c":
                output, exit_code = self._interrupt(None)
            else:
                output, exit_code, timed = self._part(part)
                timed_out = timed_out or timed
                head, sep, tail = output.rpartition("[Python Interpreter: ")
                if sep:  # the interpreter line is kept once, from the last part
                    output, interpreter = head, sep + tail
            if all_output:
                all_output += "\r\n"
            all_output += part + "\r\n" + output
            if exit_code != 0:
                break
        return CmdOutput(all_output.rstrip("\r\n"), exit_code, interpreter, timed_out)

    # -- the fork's three paths ------------------------------------------------------------
    def _part(self, part: str) -> tuple[str, int, bool]:
        if self.terminal is None:
            return self._part_without_tty(part)
        try:
            return self._part_in_terminal(part)
        except Exception as exc:  # the agent ended its own shell (`exit`, `kill -9 $$`): a new one, same cwd
            if type(exc).__name__ != "ShellGone":
                raise
            partial = getattr(exc, "partial", "")
            self.terminal.close()
            opener = getattr(self.sandbox, "terminal")
            self.terminal = opener(self.workdir)
            note = f"[the shell exited; a new shell was started in {self.workdir}]"
            return partial + "\r\n" + note + "\r\n" + prompt_text("", self.user, self.workdir), -1, False

    def _part_in_terminal(self, part: str) -> tuple[str, int, bool]:
        reply = self.terminal.execute(part, self.timeout, self.output_limit)
        if reply.done and reply.exit_code == 2 and _INCOMPLETE.fullmatch(reply.output):
            # The fork typed the text into bash, which then waited for the rest of the command
            # until the timeout and its ctrl-c (readline echoes ^C). Same text, without the wait.
            note = TIMEOUT_TEXT.format(seconds=int(self.timeout))
            return "^C\r\n\r\n\r\n" + note + "\r\n" + self._prompt(reply), 130, True
        if reply.done:
            self.workdir = reply.cwd or self.workdir
            return reply.output + "\r\n" + self._prompt(reply), reply.exit_code, False
        output, code, reply = self._escalate(reply.output, self.timeout)
        self.workdir = reply.cwd or self.workdir
        return output + "\r\n" + self._prompt(reply), code, True

    def _empty(self) -> tuple[str, int]:
        """Wait for more output of a running process; nothing runs between actions, so: -1."""
        if self.terminal is None:
            return "\r\n", -1
        reply = self.terminal.wait(EMPTY_COMMAND_WAIT, self.output_limit)
        if reply.done:
            return reply.output + "\r\n" + self._prompt(reply), reply.exit_code
        return reply.output + "\r\n", -1

    def _interrupt(self, timeout: float | None) -> tuple[str, int]:
        if self.terminal is None:
            return "^C\r\n\r\n\r\n" + INTERRUPT_TEXT, 130
        output, code, _reply = self._escalate("", timeout)
        return output, code

    def _escalate(self, output: str, timeout: float | None) -> tuple[str, int, Any]:
        """ctrl-c (twice, 1 s each), then ctrl-z + ``kill -9 %1``, then swegym's control-shell kill."""
        term = self.terminal
        for _ in range(INTERRUPT_TRIES):
            reply = term.interrupt(b"\x03", INTERRUPT_WAIT, self.output_limit)
            output += reply.output
            if reply.done:
                prefix = f"Command timed out after {int(timeout)} seconds. " if timeout is not None else ""
                return output + "\r\n\r\n" + f"[{prefix}SIGINT was sent to interrupt the command.]", 130, reply
        reply = term.interrupt(b"\x1a", 5.0, self.output_limit)
        if not reply.done:  # SIGTSTP ignored too (a shell builtin loop, a trap): swegym's guarantee
            term.kill_command()
            reply = term.wait(10.0, self.output_limit)
        output += reply.output
        # `jobs` (builtins, output dropped) until the job is gone: bash's "Killed" notice is consumed
        # here instead of landing at a random later prompt (the fork's recorded run showed none)
        kill = term.line("kill -9 %1; __swegym_k=$?; for __swegym_i in {1..5000}; do "
                         "jobs %1 >/dev/null 2>&1 || break; done", 30.0, self.output_limit)
        output += kill.output
        prefix = f"Command timed out after {int(timeout)} seconds. " if timeout is not None else ""
        output += "\r\n\r\n" + KILLED_TEXT.format(prefix=prefix)
        status = term.line("echo $__swegym_k", 30.0, self.output_limit)  # the fork's `echo $?` after the kill
        return output, parse_exit_code(status.output), status

    def _prompt(self, reply: Any) -> str:
        return prompt_text(reply.python, self.user, reply.cwd or self.workdir)

    # -- without a pty -----------------------------------------------------------------------
    def _part_without_tty(self, part: str) -> tuple[str, int, bool]:
        """Same texts over ``sandbox.run`` (a plain pipe: no columns, no interactive prompt)."""
        probe = '\n__swegym_rc=$?; printf "\\036%s\\036%s" "$PWD" "$(command -v python)"; (exit $__swegym_rc)'
        res = self.sandbox.run(part + probe, timeout=self.timeout, output_limit=self.output_limit)
        text = res.output or ""
        body, _, tail = text.partition("\x1e")
        cwd, _, python = tail.partition("\x1e")
        if "\x1e" not in text:
            body = text
        self.workdir = cwd or self.workdir
        body = body.replace("\r\n", "\n").replace("\n", "\r\n")
        prompt = prompt_text(python.strip(), self.user, self.workdir)
        if res.timed_out:
            return body + "\r\n\r\n" + TIMEOUT_TEXT.format(seconds=int(self.timeout)) + "\r\n" + prompt, 130, True
        return body + "\r\n" + prompt, res.exit_code, False
