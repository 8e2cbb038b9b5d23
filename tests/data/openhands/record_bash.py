"""Record the SWE-Gym OpenHands fork's BashSession observations (run inside a container; see README.md).

Imports the fork's own ``openhands/runtime/utils/bash.py`` (commit adf7ab58) with three tiny stand-ins
for the modules it imports only for types and logging, runs fixed command strings and writes
``bash_goldens.json``: for each case the observation content, exit code and interpreter details.
"""
import dataclasses
import json
import logging
import os
import sys
import types

FORK = sys.argv[1]  # a checkout holding openhands/runtime/utils/bash.py
OUT = sys.argv[2]


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


@dataclasses.dataclass
class CmdRunAction:  # the fork's fields that bash.py reads
    command: str
    blocking: bool = True
    keep_prompt: bool = True
    hidden: bool = False
    timeout: int = 120
    source: str = "agent"


@dataclasses.dataclass
class CmdOutputObservation:
    command_id: int
    content: str
    command: str
    hidden: bool
    exit_code: int
    interpreter_details: str


for name in ("openhands", "openhands.core", "openhands.events", "openhands.runtime", "openhands.runtime.utils"):
    _module(name, __path__=[])
_module("openhands.core.logger", openhands_logger=logging.getLogger("fork"))
_module("openhands.events.action", CmdRunAction=CmdRunAction)
_module("openhands.events.event", EventSource=types.SimpleNamespace(AGENT="agent"))


class FatalErrorObservation(str):
    pass


_module("openhands.events.observation", CmdOutputObservation=CmdOutputObservation,
        FatalErrorObservation=FatalErrorObservation, ErrorObservation=FatalErrorObservation)
import importlib.util

spec = importlib.util.spec_from_file_location("fork_bash", os.path.join(FORK, "openhands/runtime/utils/bash.py"))
bash = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bash)

CASES = [  # (name, command, timeout)
    ("pipe_and", "echo hello | tr a-z A-Z && echo second", 10),
    ("multi_line", "cd /tmp\npwd\necho 'two words'", 10),
    ("failing_middle", "echo first\nls /nonexistent_dir\necho never", 10),
    ("semicolons", "echo a; echo b; false; echo c", 10),
    ("heredoc", "cat > /tmp/f.txt <<'EOF'\nline1\n  line2\nEOF\ncat /tmp/f.txt", 10),
    ("stderr", "ls /nope 2>&1; echo done", 10),
    ("timeout", "echo start; sleep 30", 2),
    ("long_output", "seq 1 3000", 10),
    ("wide_ls", "mkdir -p /tmp/wide && cd /tmp/wide && touch file_$(seq -s ' file_' 1 60) && ls", 10),
    ("python_prompt", "python", 2),
    ("empty", "", 10),
    ("ctrl_c", "ctrl+c", 10),
    ("cwd_prompt", "cd /usr/lib", 10),
    ("exit_code", "bash -c 'exit 3'", 10),
    ("unparsable", "echo $((1 +", 10),
    ("background", "(sleep 1; echo late) &\nsleep 2", 10),
]

session = bash.BashSession(work_dir="/workspace", username="root")
results = {}
for name, command, timeout in CASES:
    obs = session.run(CmdRunAction(command=command, timeout=timeout))
    results[name] = {"command": command, "timeout": timeout, "split": bash.split_bash_commands(command),
                     "content": obs.content, "exit_code": obs.exit_code,
                     "interpreter_details": obs.interpreter_details}
    print(name, obs.exit_code, repr(obs.content[:200]), flush=True)
session.close()
with open(OUT, "w") as fh:
    json.dump(results, fh, indent=1, ensure_ascii=False)
