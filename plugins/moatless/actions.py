"""The structured actions the model fills in each state: JSON schemas, parsing and validation.

With native tool calling each schema is offered as one function; otherwise the model is asked
for a JSON object, and the first JSON object in its reply (prose and code fences around it are
fine) is taken. Either way the arguments are validated here; the error text goes back to the
model as a retry, so it says exactly what to fix.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from swegym import PolicyResponse


def _obj(description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties, "required": required,
            "additionalProperties": False}


_SCRATCH = {"type": "string", "description": "Your thoughts on the next step."}

SEARCH = _obj("Search the code base for code relevant to the issue, or set complete when done.", {
    "scratch_pad": {"type": "string", "description": "Your thoughts on what search parameters to set."},
    "file_pattern": {"type": ["string", "null"], "description": "A glob pattern to filter search results to specific files or directories."},
    "query": {"type": ["string", "null"], "description": "A semantic similarity search query. Use natural language to describe what you are looking for."},
    "code_snippet": {"type": ["string", "null"], "description": "A code snippet that should be exactly matched."},
    "class_names": {"type": "array", "items": {"type": "string"}, "description": "Specific class names to include in the search."},
    "function_names": {"type": "array", "items": {"type": "string"}, "description": "Specific function names to include in the search."},
    "complete": {"type": "boolean", "description": "Set to true when the search is complete."},
}, ["scratch_pad"])

IDENTIFY = _obj("Identify the code spans in the search results that are relevant to the reported issue.", {
    "scratch_pad": {"type": "string", "description": "Your thoughts on how to identify the relevant code and why."},
    "identified_spans": {"type": "array", "description": "Files and span ids in the search results that are relevant.",
                         "items": _obj("A file and spans in it.", {
                             "file_path": {"type": "string", "description": "The file path."},
                             "span_ids": {"type": "array", "items": {"type": "string"}, "description": "The span ids."},
                         }, ["file_path", "span_ids"])},
}, ["scratch_pad", "identified_spans"])

DECIDE = _obj("Decide whether all code relevant to the issue is in the file context.", {
    "scratch_pad": {"type": "string", "description": "Your thoughts on whether the relevant code has been found."},
    "relevant": {"type": "boolean", "description": "True if relevant code has been identified."},
    "complete": {"type": "boolean", "description": "True if all the relevant code has been identified."},
    "search_suggestions": {"type": ["string", "null"], "description": "How to find the relevant code that is missing."},
}, ["scratch_pad", "relevant", "complete"])

APPLY_CHANGE = _obj("Request a change to one code span, or finish, or reject the task.", {
    "scratch_pad": {"type": "string", "description": "Your thoughts on the code change."},
    "action": {"type": "string", "enum": ["modify", "finish", "reject"], "description": "What to do next."},
    "instructions": {"type": ["string", "null"], "description": "Instructions (with pseudo code) for the change."},
    "file_path": {"type": ["string", "null"], "description": "The file of the span to change."},
    "span_id": {"type": ["string", "null"], "description": "The id of the span to change."},
    "finish": {"type": ["string", "null"], "description": "Why the task is done (action finish)."},
    "reject": {"type": ["string", "null"], "description": "Why the task cannot be done (action reject)."},
}, ["scratch_pad", "action"])

CLARIFY = _obj("Specify the contiguous lines in the span that must change.", {
    "scratch_pad": {"type": "string", "description": "Thoughts on which lines to select."},
    "start_line": {"type": "integer", "description": "The first line to change."},
    "end_line": {"type": "integer", "description": "The last line to change."},
    "reject": {"type": ["boolean", "null"], "description": "True to reject the instructions."},
}, ["scratch_pad", "start_line", "end_line"])

EDIT = _obj("Replace the code in the <search> block, or reject the instructions.", {
    "scratch_pad": {"type": ["string", "null"], "description": "Thoughts on the code change."},
    "replace": {"type": "string", "description": "The new code for exactly the lines in <search>, same indentation."},
    "reject": {"type": ["string", "null"], "description": "Why the change cannot be made (leaves the code as is)."},
}, ["replace"])


@dataclass(frozen=True)
class ActionSpec:
    """One state's action: the function name the model calls and its parameter schema."""

    name: str
    schema: dict[str, Any]

    def tool(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.schema["description"],
                                                 "parameters": self.schema}}


ACTIONS = {
    "SearchCode": ActionSpec("Search", SEARCH),
    "IdentifyCode": ActionSpec("Identify", IDENTIFY),
    "DecideRelevance": ActionSpec("Decision", DECIDE),
    "PlanToCode": ActionSpec("ApplyChange", APPLY_CHANGE),
    "ClarifyCodeChange": ActionSpec("LineNumberClarification", CLARIFY),
    "EditCode": ActionSpec("CodeChange", EDIT),
}


class ActionError(ValueError):
    """The reply did not contain a valid action; ``str(error)`` is the feedback for the model."""


# -- validation ------------------------------------------------------------------------------

_TYPES = {"string": str, "boolean": bool, "integer": int, "number": (int, float), "array": list, "object": dict,
          "null": type(None)}


def validate(value: Any, schema: dict[str, Any], where: str = "") -> None:
    """A small JSON-schema check (types, required, enum, extra keys); raises ActionError."""
    types = schema.get("type")
    if types:
        allowed = types if isinstance(types, list) else [types]
        ok = any(isinstance(value, _TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
                 for t in allowed)
        if not ok:
            raise ActionError(f"{where or 'the action'} must be {' or '.join(allowed)}, got {json.dumps(value)[:80]}")
    if "enum" in schema and value not in schema["enum"]:
        raise ActionError(f"{where} must be one of {', '.join(map(repr, schema['enum']))}, got {value!r}")
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for key in schema.get("required", []):
            if key not in value or (value[key] is None and "null" not in _as_list(props[key].get("type"))):
                raise ActionError(f"missing required field {_join(where, key)!r}")
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                raise ActionError(f"unknown field(s) {', '.join(map(repr, extra))}"
                                  f"{' in ' + where if where else ''}; allowed: {', '.join(props)}")
        for key, sub in props.items():
            if key in value:
                validate(value[key], sub, _join(where, key))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{where}[{i}]")


def _as_list(t: Any) -> list:
    return t if isinstance(t, list) else [t]


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# -- parsing ---------------------------------------------------------------------------------

def first_json_object(text: str) -> dict[str, Any] | None:
    """The first decodable JSON object in ``text`` (inside code fences or prose)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _edit_from_tags(text: str) -> dict[str, Any] | None:
    """MoatlessTools' own EditCode format: <replace>…</replace> or <reject>…</reject>."""
    if "<reject>" in text:
        return {"replace": "", "reject": text.split("<reject>", 1)[1].split("</reject>", 1)[0].strip() or "rejected"}
    if "<replace>" in text:
        body = text.split("<replace>", 1)[1].split("</replace>", 1)[0]
        return {"replace": body.strip("\n"), "scratch_pad": text.split("<replace>", 1)[0].strip() or None}
    return None


def parse_action(response: PolicyResponse, spec: ActionSpec) -> dict[str, Any]:
    """The validated action arguments of ``response``, or ActionError explaining what is wrong."""
    args: Any = None
    if response.tool_calls:
        call = next((c for c in response.tool_calls if c.name == spec.name), response.tool_calls[0])
        if call.name != spec.name:
            raise ActionError(f"unknown function {call.name!r}; call {spec.name}")
        try:
            args = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ActionError(f"the arguments of {spec.name} are not valid JSON ({exc.msg})") from None
    else:
        text = response.content or ""
        args = first_json_object(text)
        if spec.name == "CodeChange" and (args is None or "replace" not in args):
            args = _edit_from_tags(text) or args
        if args is None:
            raise ActionError(f"no JSON object found in the reply; answer with one JSON object for {spec.name} "
                              f"with the fields {', '.join(spec.schema['properties'])}")
        # tolerate {"name": "Search", "arguments": {...}} and {"Search": {...}} wrappers
        if set(args) <= {"name", "arguments", "parameters"} and isinstance(args.get("arguments", args.get("parameters")), dict):
            args = args.get("arguments", args.get("parameters"))
        elif len(args) == 1 and spec.name in args and isinstance(args[spec.name], dict):
            args = args[spec.name]
    validate(args, spec.schema)
    return args
