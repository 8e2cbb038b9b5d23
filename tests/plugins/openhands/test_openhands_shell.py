"""execute_bash against the SWE-Gym OpenHands fork's own BashSession outputs (tests/data/openhands/).

The goldens were recorded by running the fork's ``openhands/runtime/utils/bash.py`` (commit
adf7ab58) in a container (README.md there says how). Only the machine-specific bits are normalised:
the interpreter path, the Python banner's build line and a background job's pid.
"""
from __future__ import annotations

import json
import time
import re
from pathlib import Path

import pytest

import swegym
from swegym_openhands import observations as obs
from swegym_openhands.shell import ForkBash, split_commands

GOLDENS = json.loads((Path(__file__).resolve().parents[2] / "data" / "openhands" / "bash_goldens.json").read_text())
# the fork desynchronises on a part that holds several commands (bashlex keeps a heredoc and the
# next line together; pexpect then reads the second prompt as `echo $?`'s output): swegym runs the
# part whole and stays in step, so these two differ on purpose (docs/ARCHITECTURE.md).
DESYNC = {"heredoc", "stderr"}
# after ctrl-z + `kill -9 %1` the fork's bash printed the job's "Stopped" notice a second time (its
# PS1 ran a command substitution); swegym's prompt runs builtins only and prints it once.
STOPPED = "[1]+  Stopped                 python\r\n"
STOPPED_TWICE = STOPPED + "\r\n" + STOPPED


def _norm(text: str) -> str:
    text = re.sub(r"\[Python Interpreter: [^\]]*\]", "[Python Interpreter: PY]", text)
    text = re.sub(r"Python 3\.\d+\.\d+ \([^)]*\) \[[^\]]*\] on linux", "Python BANNER", text)
    return re.sub(r"\[1\] \d+", "[1] PID", text)


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_split_is_the_forks(name):
    case = GOLDENS[name]
    assert split_commands(case["command"]) == case["split"]


def test_split_edge_cases():
    assert split_commands("") == [""] and split_commands("  \n") == [""]
    assert split_commands("echo $((1 +") == ["echo $((1 +"]  # unparsable: one part
    assert split_commands("ls  # list\npwd\n") == ["ls  # list", "pwd"]


@pytest.fixture(scope="module")
def calc_sandbox(docker_client, base_image):
    task = next(t for t in swegym.load_tasks("demo") if t.instance_id == "swegym-demo__calc-1")
    rt = swegym.create("runtime", "docker", run_id="test-openhands-shell")
    sb = rt.open(task)
    yield sb
    sb.close()
    rt.close()


@pytest.mark.docker
def test_observations_match_the_fork(calc_sandbox):
    calc_sandbox.run("mkdir -p /workspace", timeout=30)
    shell = ForkBash(calc_sandbox, "/workspace", timeout=120, output_limit=300_000)
    assert shell.terminal is not None
    mismatches = []
    for name, case in GOLDENS.items():  # in recording order: later cases rely on earlier `cd`s
        got = shell.run(case["command"], timeout=case["timeout"])
        if name in DESYNC:
            continue
        want = (_norm(case["content"]), case["exit_code"], _norm(case["interpreter_details"]))
        if name == "python_prompt":
            assert STOPPED_TWICE in want[0]
            want = (want[0].replace(STOPPED_TWICE, STOPPED),) + want[1:]
        have = (_norm(got.content), got.exit_code, _norm(got.interpreter_details))
        if have != want:
            mismatches.append((name, want, have))
    assert not mismatches, "\n\n".join(f"{n}\nfork:    {w!r}\nswegym:  {h!r}" for n, w, h in mismatches)


@pytest.mark.docker
def test_desync_cases_run_whole_and_stay_in_step(calc_sandbox):
    shell = ForkBash(calc_sandbox, "/tmp", timeout=30, output_limit=100_000)
    got = shell.run(GOLDENS["heredoc"]["command"])
    assert got.exit_code == 0 and got.content.endswith("EOF\ncat /tmp/f.txt\r\nline1\r\n  line2")
    got = shell.run(GOLDENS["stderr"]["command"])
    assert got.exit_code == 0 and got.content.endswith("No such file or directory\r\ndone")


@pytest.mark.docker
def test_observation_text_and_session_after_timeout(calc_sandbox):
    shell = ForkBash(calc_sandbox, "/tmp", timeout=2, output_limit=100_000)
    out = shell.run("export KEEP=1; cd /usr\nsleep 20")
    assert out.exit_code == 130 and out.timed_out
    text = obs.cmd_observation(out.content, out.interpreter_details, out.exit_code)
    assert text.startswith("OBSERVATION:\nexport KEEP=1; cd /usr\r\n\r\n\r\nsleep 20\r\n")
    assert "[Command timed out after 2 seconds. SIGINT was sent to interrupt the command.]" in text
    assert text.endswith("root@openhands-workspace:/usr # \n[Command finished with exit code 130]")
    again = shell.run("echo $KEEP")
    assert again.exit_code == 0 and again.content == "echo $KEEP\r\n1"


@pytest.mark.docker
def test_agent_that_exits_its_shell_gets_a_new_one(calc_sandbox):
    """`exit` ends the agent's own shell: the agent's outcome, not an infrastructure error."""
    shell = ForkBash(calc_sandbox, "/tmp", timeout=30, output_limit=100_000)
    shell.run("cd /usr")
    out = shell.run("exit")
    assert out.exit_code == -1 and "a new shell was started in /usr" in out.content
    again = shell.run("pwd")
    assert again.exit_code == 0 and again.content == "pwd\r\n/usr"


@pytest.mark.docker
def test_closed_terminal_leaves_no_shell_behind(calc_sandbox):
    # 2>/dev/null before <$p: a process that exits between the glob and the read must not print an error
    count = "n=0; for p in /proc/[0-9]*/comm; do read -r c 2>/dev/null <$p && [[ $c == bash ]] && n=$((n+1)); done; echo $n"
    before = int(calc_sandbox.run(count).output.strip())
    shell = ForkBash(calc_sandbox, "/tmp", timeout=10, output_limit=10_000)
    assert int(calc_sandbox.run(count).output.strip()) == before + 1
    shell.close()
    for _ in range(50):
        if int(calc_sandbox.run(count).output.strip()) == before:
            break
        time.sleep(0.1)
    assert int(calc_sandbox.run(count).output.strip()) == before
