"""The four stuck-loop patterns of OpenHands' ``controller/stuck.py``, on our own event list.

An episode is a list of events: ``Action(key)`` (a tool call, or an agent message without a
call) and ``Observation(text, error)``. User "please continue" replies are not events, just as
OpenHands filters user messages out before checking. Stuck when:

1. the same action got the same observation 4 times in a row;
2. the same action got an error observation 3 times in a row;
3. the agent sent the same message 3 times with no observation in between (monologue);
4. the last 6 actions and 6 observations alternate between two pairs (A1 A2 A1 A2 A1 A2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Action:
    key: str  #: tool name + canonical JSON arguments, or "message:" + text
    is_message: bool = False


@dataclass(frozen=True)
class Observation:
    text: str
    error: bool = False


Event = Union[Action, Observation]


def _last(events: list[Event], kind: type, n: int) -> list:
    found = []
    for event in reversed(events):
        if isinstance(event, kind):
            found.append(event)
            if len(found) == n:
                break
    return found


def stuck_reason(events: list[Event]) -> str | None:
    """Which loop the episode is caught in, or None."""
    actions4 = _last(events, Action, 4)
    observations4 = _last(events, Observation, 4)
    if len(actions4) == 4 and len(observations4) == 4:
        if len({a.key for a in actions4}) == 1 and len({o.text for o in observations4}) == 1:
            return "repeating action and observation"
    actions3, observations3 = actions4[:3], observations4[:3]
    if len(actions3) == 3 and len(observations3) == 3:
        if len({a.key for a in actions3}) == 1 and all(o.error for o in observations3):
            return "repeating action with error"
    if _monologue(events):
        return "monologue"
    actions6 = _last(events, Action, 6)
    observations6 = _last(events, Observation, 6)
    if len(actions6) == 6 and len(observations6) == 6:
        a, o = [x.key for x in actions6], [x.text for x in observations6]
        if a[0] == a[2] == a[4] and a[1] == a[3] == a[5] and o[0] == o[2] == o[4] and o[1] == o[3] == o[5]:
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
    return not any(isinstance(e, Observation) for e in events[start + 1 : end])
