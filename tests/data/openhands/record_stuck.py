"""Record the fork's ``StuckDetector.is_stuck`` (``openhands/controller/stuck.py`` at adf7ab58).

Its event classes are stood in for by dataclasses with the fork's fields (so ``==`` compares what
the fork compared); each scenario is replayed event by event and ``is_stuck()`` is recorded after
every event. Usage: python record_stuck.py <fork checkout> <out.json>
"""
import dataclasses
import importlib.util
import json
import logging
import sys
import types

FORK, OUT = sys.argv[1:3]


@dataclasses.dataclass
class Event:
    pass


@dataclasses.dataclass
class Action(Event):
    pass


@dataclasses.dataclass
class Observation(Event):
    content: str


@dataclasses.dataclass
class CmdRunAction(Action):  # the fork's fields after `command` (blocking: set by the timeout)
    command: str
    thought: str = ""
    blocking: bool = True
    keep_prompt: bool = True
    hidden: bool = False
    action: str = "run"


@dataclasses.dataclass
class IPythonRunCellAction(Action):
    code: str
    thought: str = ""
    include_extra: bool = False
    action: str = "run_ipython"
    kernel_init_code: str = ""


@dataclasses.dataclass
class MessageAction(Action):
    content: str
    images_urls: list = None
    wait_for_response: bool = False
    action: str = "message"


@dataclasses.dataclass
class NullAction(Action):
    pass


@dataclasses.dataclass
class CmdOutputObservation(Observation):
    command_id: int = -1
    command: str = ""
    exit_code: int = 0


@dataclasses.dataclass
class IPythonRunCellObservation(Observation):
    code: str = ""


@dataclasses.dataclass
class ErrorObservation(Observation):
    pass


@dataclasses.dataclass
class NullObservation(Observation):
    pass


def mod(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m


for name in ("openhands", "openhands.controller", "openhands.controller.state", "openhands.core",
             "openhands.events", "openhands.events.action", "openhands.events.observation"):
    mod(name, __path__=[])
mod("openhands.controller.state.state", State=object)
mod("openhands.core.logger", openhands_logger=logging.getLogger("fork"))
mod("openhands.events.action.action", Action=Action)
mod("openhands.events.action.commands", IPythonRunCellAction=IPythonRunCellAction)
mod("openhands.events.action.empty", NullAction=NullAction)
mod("openhands.events.action.message", MessageAction=MessageAction)
mod("openhands.events.event", Event=Event, EventSource=types.SimpleNamespace(USER="user", AGENT="agent"))
mod("openhands.events.observation.commands", CmdOutputObservation=CmdOutputObservation,
    IPythonRunCellObservation=IPythonRunCellObservation)
mod("openhands.events.observation.empty", NullObservation=NullObservation)
mod("openhands.events.observation.error", ErrorObservation=ErrorObservation)
mod("openhands.events.observation.observation", Observation=Observation)
spec = importlib.util.spec_from_file_location("stuck", f"{FORK}/openhands/controller/stuck.py")
stuck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stuck)

# scenario steps: ["bash", command, thought, exit_code, output] / ["edit", code, thought, output] /
# ["msg", text] (agent) / ["user", text] / ["error", text] (an ErrorObservation, no action)
B = lambda cmd, out="x", code=0, thought="": [["bash", cmd, thought, code, out]]  # noqa: E731
SCENARIOS = {
    "same_bash_4": B("ls") * 4,
    "same_bash_3": B("ls") * 3,
    "same_bash_output_differs": [s for i in range(4) for s in B("date", out=str(i))],
    "same_bash_exit_differs": [s for i in range(4) for s in B("false", code=i % 2)],
    "thought_differs": [s for i in range(5) for s in B("ls", thought=f"t{i}")],
    "edit_same_4": [["edit", "print(file_editor(**{'command': 'view'}))", "", "out"]] * 4,
    "edit_output_differs": [["edit", "print(file_editor(**{'command': 'view'}))", "", f"o{i}"] for i in range(4)],
    "errors_after_action": B("ls") + [["error", "bad call"]] * 3,
    "same_action_3_errors": B("cat a", out="1") + [["bash", "cat a", "", 0, "x"], ["error", "e"]] * 3,
    "errors_after_same_actions": [s for i in range(4) for s in B("ls", code=i % 2)] + [["error", "bad"]] * 3,
    "monologue": [["msg", "hmm"], ["user", "continue"]] * 3,
    "monologue_broken": [["msg", "hmm"], ["user", "continue"], ["msg", "hmm"]] + B("ls") + [["msg", "hmm"]],
    "alternating": (B("a", out="1") + B("b", out="2")) * 3,
    "alternating_short": (B("a", out="1") + B("b", out="2")) * 2 + B("a", out="1"),
}

out = {}
for name, steps in SCENARIOS.items():
    history, flags = [], []
    for step in steps:
        kind = step[0]
        if kind == "bash":
            _, cmd, thought, code, text = step
            history += [CmdRunAction(cmd, thought), CmdOutputObservation(text, command=cmd, exit_code=code)]
        elif kind == "edit":
            _, code, thought, text = step
            history += [IPythonRunCellAction(code, thought), IPythonRunCellObservation(text, code=code)]
        elif kind == "msg":
            a = MessageAction(step[1], wait_for_response=True)
            a.source = "agent"
            history.append(a)
        elif kind == "user":
            a = MessageAction(step[1])
            a.source = "user"
            history.append(a)
        elif kind == "error":
            history.append(ErrorObservation(step[1]))
        state = types.SimpleNamespace(history=types.SimpleNamespace(get_events=lambda h=list(history): h),
                                      almost_stuck=0)
        flags.append(bool(stuck.StuckDetector(state).is_stuck()))
    out[name] = {"steps": steps, "stuck_after_each_step": flags}
with open(OUT, "w") as fh:
    json.dump(out, fh, indent=1)
