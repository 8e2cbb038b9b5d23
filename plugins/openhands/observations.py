"""Observation texts exactly as CodeActAgent (OpenHands 0.13) showed them to the model.

The released SWE-Gym rows show the shapes: every tool result starts with ``OBSERVATION:``;
a bash result is the echoed command, its output (pty line endings), the bash prompt
``[Python Interpreter: …]\\nroot@openhands-workspace:<cwd> # `` and
``[Command finished with exit code N]``; editor results are stripped; a message that is too
long is cut in the middle (head + tail).
"""
from __future__ import annotations

OBS_PREFIX = "OBSERVATION:\n"
TRUNCATION_NOTICE = "\n[... Observation truncated due to length ...]\n"
DEFAULT_MAX_MESSAGE_CHARS = 30_000
HOSTNAME = "openhands-workspace"
ERROR_SUFFIX = "\n[Error occurred in processing last action]"


def truncate_content(content: str, max_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS) -> str:
    """Keep the head and the tail of an over-long observation (OpenHands' rule)."""
    if not max_chars or len(content) <= max_chars:
        return content
    half = max_chars // 2
    return content[:half] + TRUNCATION_NOTICE + content[-half:]


def bash_prompt(cwd: str, python: str | None, user: str = "root") -> str:
    """What the 0.13 bash session appended after each command: interpreter line and PS1."""
    other = f"[Python Interpreter: {python}]" if python else ""
    return f"{other}\n{user}@{HOSTNAME}:{cwd} {'#' if user == 'root' else '$'} "


def timeout_note(seconds: float) -> str:
    return f"\r\n\r\n\r\n[Command timed out after {int(seconds)} seconds. SIGINT was sent to interrupt the command.]"


def bash_observation(
    command: str,
    output: str,
    exit_code: int,
    prompt: str,
    *,
    max_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS,
) -> str:
    """``OBSERVATION:`` + echo + output + prompt, clipped, + the exit-code line."""
    out = output.replace("\r\n", "\n").rstrip("\n").replace("\n", "\r\n")
    echo = command.replace("\r\n", "\n").replace("\n", "\r\n")
    content = echo + ("\r\n" + out if out else "")
    text = OBS_PREFIX + truncate_content(content + prompt, max_chars)
    return text + f"\n[Command finished with exit code {exit_code}]"


def cmd_observation(content: str, interpreter_details: str, exit_code: int, *,
                    max_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS, prefix: bool = True) -> str:
    """CodeActAgent's text for a CmdOutputObservation: prefix (v2.1 only), content + prompt
    (clipped), exit code."""
    return (OBS_PREFIX if prefix else "") + truncate_content(content + interpreter_details, max_chars) + (
        f"\n[Command finished with exit code {exit_code}]")


def editor_observation(output: str, *, max_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS, prefix: bool = True) -> str:
    """Editor results went through Jupyter's ``print`` and came back stripped."""
    return truncate_content((OBS_PREFIX if prefix else "") + output.strip(), max_chars)


def error_observation(message: str, *, max_chars: int | None = DEFAULT_MAX_MESSAGE_CHARS, prefix: bool = True) -> str:
    """An ErrorObservation (a malformed text-mode call): the model sees it and can recover."""
    return (OBS_PREFIX if prefix else "") + truncate_content(message, max_chars) + ERROR_SUFFIX
