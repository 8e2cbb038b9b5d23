"""Typed options of components, and the vocabulary every scaffold and policy shares.

Each component's plugin declares an :class:`Options` subclass (its ``options.py``) and registers
it with its factory (``register(name, factory, options=MyOptions)``). ``from_dict`` names an
unknown key and lists the valid ones (the pattern of ``llm``'s ``Options`` and torchtune's
config), so a typo in ``--scaffold-opt`` or a config file is an error, not a silent default.
Only the keys a user gave reach the component's constructor, whose own defaults stay the truth.

The shared words: ``max_steps`` (the agent's step limit, whatever a scaffold calls a step),
``function_calling`` (``auto | native | text``) and :class:`StopReason`.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, ClassVar

from .errors import SwegymError

#: How a scaffold talks tools with a policy: native tool calls, tool calls written in the text, or
#: native when the policy supports it.
FUNCTION_CALLING = ("auto", "native", "text")
_FUNCTION_CALLING_ALIASES = {"json": "text", "fncall": "native", "true": "native", "false": "text"}


def function_calling(value: Any) -> str:
    """Normalise a ``function_calling`` value to ``auto | native | text`` (``json`` means text)."""
    text = str(value).strip().lower()
    text = _FUNCTION_CALLING_ALIASES.get(text, text)
    if text not in FUNCTION_CALLING:
        raise SwegymError(f"function_calling={value!r} is not one of {', '.join(FUNCTION_CALLING)}")
    return text


class StopReason(str, enum.Enum):
    """Why an agent loop ended: one word per cause, for every scaffold."""

    FINISH = "finish"                    # the agent said it is done
    MAX_STEPS = "max_steps"              # the step limit was reached
    CONTEXT_WINDOW_EXCEEDED = "context_window_exceeded"
    BUDGET_EXCEEDED = "budget_exceeded"  # tokens or cost
    STUCK = "stuck"                      # the same actions over and over
    REJECTED = "rejected"                # the agent rejected the task
    INVALID_RESPONSE = "invalid_response"
    POLICY_ERROR = "policy_error"
    AGENT_ERROR = "agent_error"
    SANDBOX_KILLED = "sandbox_killed"
    ERROR = "error"

    @classmethod
    def parse(cls, value: str | None) -> "StopReason | str":
        """The member for ``value`` (older words included: finished, max_iterations,
        max_transitions); a word no scaffold here uses comes back unchanged (third parties)."""
        if value is None or value == "":
            return value or ""
        text = _STOP_ALIASES.get(str(value), str(value))
        try:
            return cls(text)
        except ValueError:
            return str(value)


_STOP_ALIASES = {"finished": "finish", "max_iterations": "max_steps", "max_transitions": "max_steps",
                 "done": "finish"}


@dataclasses.dataclass
class Options:
    """Base of every component's options: declared fields, unknown keys refused by name.

    Subclass attributes:
      ``component``: how errors name it (``"scaffold openhands"``).
      ``aliases``: older key → field (``{"max_iterations": "max_steps"}``), accepted silently.
      ``renames``: field → the constructor's keyword, when they differ.
      ``open_keys``: extra keys passed through untouched (e.g. sampling settings of a policy).
    """

    component: ClassVar[str] = "component"
    aliases: ClassVar[dict[str, str]] = {}
    renames: ClassVar[dict[str, str]] = {}
    open_keys: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self._given: set[str] = set()
        self._extra: dict[str, Any] = {}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Options":
        """Validate ``data`` (``-`` in keys read as ``_``); raise SwegymError naming unknown keys."""
        names = set(cls.field_names())
        known, extra, unknown = {}, {}, []
        for raw_key, value in (data or {}).items():
            key = str(raw_key).replace("-", "_")
            key = cls.aliases.get(key, key)
            if key in names:
                known[key] = value
            elif key in cls.open_keys:
                extra[key] = value
            else:
                unknown.append(str(raw_key))
        if unknown:
            valid = sorted(names | set(cls.open_keys))
            raise SwegymError(f"{cls.component}: unknown option(s) {', '.join(sorted(unknown))}; "
                              f"valid options: {', '.join(valid)}")
        opts = cls(**known)
        opts._given = set(known)
        opts._extra = extra
        opts.validate()
        return opts

    def validate(self) -> None:
        """Check values; override and raise SwegymError naming the option."""
        if "function_calling" in self._given:
            try:
                self.function_calling = function_calling(self.function_calling)  # type: ignore[attr-defined]
            except SwegymError as exc:
                raise SwegymError(f"{self.component}: {exc}") from None

    def kwargs(self) -> dict[str, Any]:
        """The given options under the constructor's names (defaults stay the constructor's)."""
        out = {self.renames.get(k, k): getattr(self, k) for k in self.field_names() if k in self._given}
        out.update(self._extra)
        return out


def options_class(kind: str, name: str) -> type[Options] | None:
    """The options class the ``kind`` called ``name`` registered (None when it registered none)."""
    from .plugins import get_registry

    return get_registry().get(kind, name).options


def shared_options(kind: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Of the shared settings in ``values`` (``max_steps``, ``function_calling``…), the ones the
    component declares: core hands them out without knowing which component takes what."""
    cls = options_class(kind, name)
    if cls is None:
        return {}
    accepted = set(cls.field_names()) | set(cls.aliases)
    return {k: v for k, v in values.items() if v is not None and k in accepted}


def canonical(kind: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with older key names read as today's (``max_iterations`` → ``max_steps``), so a
    run directory started before a rename still resumes."""
    from .plugins import get_registry

    try:
        cls = get_registry().get(kind, name).options
    except SwegymError:
        return dict(options)
    if cls is None:
        return dict(options)
    return {cls.aliases.get(str(k).replace("-", "_"), k): v for k, v in options.items()}


__all__ = ["canonical", "FUNCTION_CALLING", "Options", "StopReason", "function_calling", "options_class", "shared_options"]
