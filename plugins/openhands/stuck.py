"""The SWE-Gym fork's ``controller/stuck.py`` (``StuckDetector.is_stuck``), on swegym's event list.

Events stand for the fork's: an :class:`Action` is a ``CmdRunAction`` / ``IPythonRunCellAction``
(the editor ran through Jupyter) / ``AgentFinishAction`` / agent ``MessageAction``, and ``key`` is
what the fork's dataclass ``==`` compares (the thought included: the first action of a reply
carries the reply's text). An :class:`Observation` has ``key`` as the fork compared it: a bash
result by command and exit code only (``_eq_no_pid``), anything else by content; ``error`` marks
an ``ErrorObservation`` (a malformed call), not a failing command. User messages ("please
continue") are filtered out as upstream. Stuck when, over the whole filtered history (>= 3 events):

1. the last 4 actions are equal and the last 4 observations are equal;
2. (with >= 4 of each) the last 3 actions are equal and the last 3 observations are errors;
3. the last 3 agent messages are equal with no observation between them (monologue);
4. (history >= 6) the last 6 actions and 6 observations alternate A B A B A B.

The fork's Jupyter ``SyntaxError`` variants of rule 2 need IPython cells, which this tool set
never produces (the editor's results are not Python tracebacks), so they cannot fire here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Action:
    key: str
    is_message: bool = False


@dataclass(frozen=True)
class Observation:
    key: str
    error: bool = False


Event = Union[Action, Observation]


# The fork's events, reduced to what its equality compares (one constructor each, used by the scaffold)
def bash_action(command: str, thought: str = "") -> Action:
    return Action(repr(("CmdRunAction", command, thought)))


def bash_observation(command: str, exit_code: int) -> Observation:
    return Observation(repr(("CmdOutputObservation", command, exit_code)))  # _eq_no_pid: no content


def editor_action(code: str, thought: str = "") -> Action:
    return Action(repr(("IPythonRunCellAction", code, thought)))


def editor_observation(content: str, code: str) -> Observation:
    return Observation(repr(("IPythonRunCellObservation", content, code)))


def message_action(content: str) -> Action:
    return Action(repr(("MessageAction", content)), is_message=True)


def error_observation(content: str) -> Observation:
    return Observation(repr(("ErrorObservation", content)), error=True)


def _last(events: list[Event], n: int) -> tuple[list[Action], list[Observation]]:
    """The last ``n`` actions and ``n`` observations, newest first, wherever they are."""
    actions: list[Action] = []
    observations: list[Observation] = []
    for event in reversed(events):
        if isinstance(event, Action) and len(actions) < n:
            actions.append(event)
        elif isinstance(event, Observation) and len(observations) < n:
            observations.append(event)
        if len(actions) == n and len(observations) == n:
            break
    return actions, observations


def stuck_reason(events: list[Event]) -> str | None:
    """Which of the fork's loops the episode is caught in, or None."""
    if len(events) < 3:
        return None
    actions, observations = _last(events, 4)
    if len(actions) == 4 and len(observations) == 4:
        if len({a.key for a in actions}) == 1 and len({o.key for o in observations}) == 1:
            return "repeating action and observation"
        if len({a.key for a in actions[:3]}) == 1 and all(o.error for o in observations[:3]):
            return "repeating action with error"
    if _monologue(events):
        return "monologue"
    if len(events) >= 6:
        a, o = _last(events, 6)
        if len(a) == 6 and len(o) == 6:
            ak, ok = [x.key for x in a], [x.key for x in o]
            if ak[0] == ak[2] == ak[4] and ak[1] == ak[3] == ak[5] and ok[0] == ok[2] == ok[4] and ok[1] == ok[3] == ok[5]:
                return "alternating action-observation pattern"
    return None


def _monologue(events: list[Event]) -> bool:
    messages = [(i, e) for i, e in enumerate(events) if isinstance(e, Action) and e.is_message]
    if len(messages) < 3:
        return False
    last3 = messages[-3:]
    if len({e.key for _, e in last3}) != 1:
        return False
    start, end = last3[0][0], last3[-1][0]
    return not any(isinstance(e, Observation) for e in events[start + 1: end])
