"""The text emulation of function calling used by OpenHands CodeAct (and SWE-Gym's SFT data).

Models without native tool calls see the tool descriptions appended to the system prompt and
write calls as::

    <function=NAME>
    <parameter=P>value</parameter>
    </function>

Tool results come back as user messages ``EXECUTION RESULT of [NAME]:\\n...``; generation stops
at ``</function``. This module converts whole conversations between that text format and OpenAI
native ``tool_calls`` (reproducing OpenHands' ``fn_call_converter`` rendering byte for byte) and
parses model output defensively: a malformed call raises :class:`FunctionCallFormatError`
whose message tells the model how to fix it, never anything else.

Round trip native → text → native keeps roles, contents, tool names, tool results and argument
values; what the text format cannot carry is the tool-call ids (regenerated as ``toolu_NN``)
and the difference between ``content: None`` and ``""``.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Iterable

from .. import prompts
from ..types import ToolCall

STOP_WORDS = ["</function"]

RESULT_PREFIX = "EXECUTION RESULT of [{name}]:\n"
_RESULT_RE = re.compile(r"EXECUTION RESULT of \[([^\]\n]*)\]:\n(.*)\Z", re.DOTALL)
_FN_OPEN_RE = re.compile(r"<function=([^>\n]*)>")
_FN_CLOSE = "</function>"
_PARAM_RE = re.compile(r"<parameter=([^>\n]*)>(.*?)</parameter>", re.DOTALL)

# In-context example snippets (prompts/fncall/example/*.j2) and the tools that enable them, in
# the order OpenHands concatenates them.
_EXAMPLE_SNIPPETS = [
    ("execute_bash", "execute_bash_check_dir"),
    ("str_replace_editor", "str_replace_editor_create_file"),
    ("execute_bash", "execute_bash_run_server"),
    ("browser", "browser_view_page"),
    ("execute_bash", "execute_bash_kill_server"),
    ("str_replace_editor", "str_replace_editor_edit_file"),
    ("execute_bash", "execute_bash_run_server_again"),
    ("finish", "finish_task_completed"),
]


class FunctionCallFormatError(ValueError):
    """A model wrote a call the text format cannot accept; the message is meant for the model."""


# --------------------------------------------------------------------------------- tools


def clean_nulls(value: Any) -> Any:
    """Drop dict keys whose value is None, recursively (columnar files store absent keys as null)."""
    if isinstance(value, dict):
        return {k: clean_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [clean_nulls(v) for v in value]
    return value


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise ValueError(f"a tool must be an object like {{'type': 'function', 'function': {{...}}}}, got {tool!r}")
    fn = tool.get("function") if tool.get("type", "function") == "function" else None
    if not isinstance(fn, dict) or not fn.get("name"):
        raise ValueError(f"tool {tool!r} is not a function tool with a name")
    return clean_nulls(fn)


def tool_names(tools: Iterable[dict[str, Any]]) -> list[str]:
    return [_function(t)["name"] for t in tools]


def tools_description(tools: list[dict[str, Any]]) -> str:
    """Describe tools as OpenHands does (``---- BEGIN FUNCTION #1: name ----`` blocks)."""
    parts = []
    for i, tool in enumerate(tools, 1):
        fn = _function(tool)
        text = f"---- BEGIN FUNCTION #{i}: {fn['name']} ----\n"
        text += f"Description: {fn.get('description', '')}\n"
        if "parameters" in fn:
            text += "Parameters:\n"
            params = fn["parameters"]
            required = set(params.get("required", []))
            for j, (name, info) in enumerate(params.get("properties", {}).items(), 1):
                status = "required" if name in required else "optional"
                desc = info.get("description", "No description provided")
                if "enum" in info:
                    desc += "\nAllowed values: [" + ", ".join(f"`{v}`" for v in info["enum"]) + "]"
                text += f"  ({j}) {name} ({info.get('type', 'string')}, {status}): {desc}\n"
        else:
            text += "No parameters are required for this function.\n"
        text += f"---- END FUNCTION #{i} ----\n"
        parts.append(text)
    return "\n".join(parts)


def system_prompt_suffix(tools: list[dict[str, Any]]) -> str:
    """The text appended to the system prompt: tool descriptions plus the call-format rules."""
    return prompts.render("fncall/system_suffix.j2", description=tools_description(tools))


def _fits_openhands_example(tools: list[dict[str, Any]]) -> bool:
    """The fork's own check: ``execute_bash(command)`` and a full ``str_replace_editor``."""
    fns = {fn["name"]: fn.get("parameters", {}).get("properties", {}) for fn in (_function(t) for t in tools)}
    return "command" in fns.get("execute_bash", {}) and {"path", "file_text", "old_str", "new_str"} <= set(
        fns.get("str_replace_editor", {}))


def in_context_example(tools: list[dict[str, Any]]) -> tuple[str, str]:
    """The worked example (prefix, suffix) wrapped around the first user message.

    For the CodeAct tool set this is the SWE-Gym fork's own text (OpenHands 0.13.1
    ``fn_call_converter``: its ``finish`` takes no parameters, as this tool set's). Other tool sets
    get the per-tool snippets of a later OpenHands; ``("", "")`` if none apply.
    """
    if _fits_openhands_example(tools):
        return prompts.source("fncall/openhands_example_prefix.j2"), prompts.source("fncall/openhands_example_suffix.j2")
    names = set(tool_names(tools))
    snippets = [prompts.source(f"fncall/example/{snip}.j2") for tool, snip in _EXAMPLE_SNIPPETS if tool in names]
    if not snippets:
        return "", ""
    text = prompts.source("fncall/example/header.j2") + "".join(snippets) + prompts.source("fncall/example/footer.j2")
    return text.lstrip(), prompts.source("fncall/example/suffix.j2")


# --------------------------------------------------------------------------- rendering


def _render_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render_tool_call_text(name: str, arguments: dict[str, Any]) -> str:
    """``<function=name>`` + one ``<parameter=…>`` per argument; multi-line strings get own lines."""
    text = f"<function={name}>\n"
    for key, value in arguments.items():
        rendered = _render_value(value)
        if isinstance(value, str) and "\n" in value:
            rendered = f"\n{rendered}\n"
        text += f"<parameter={key}>{rendered}</parameter>\n"
    return text + _FN_CLOSE


def _call_parts(call: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(call, ToolCall):
        name, raw = call.name, call.arguments
    else:
        fn = (call or {}).get("function") or {}
        name, raw = fn.get("name") or "", fn.get("arguments")
    if isinstance(raw, dict):
        return name, raw
    try:
        args = json.loads(raw) if raw not in (None, "") else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"tool call {name!r} has arguments that are not JSON ({exc}): {raw!r}") from exc
    if not isinstance(args, dict):
        raise ValueError(f"tool call {name!r} has arguments that are not a JSON object: {raw!r}")
    return name, args


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ValueError(f"message content must be a string or a list of parts, got {type(content).__name__}")


def messages_to_text(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    *,
    add_in_context_example: bool = False,
) -> list[dict[str, Any]]:
    """Native tool calls → the text format (OpenHands' non-function-calling rendering).

    System prompt gains the tool descriptions; each assistant tool call is appended to its text
    (several calls in one message are separated by a blank line); tool results become user
    messages ``EXECUTION RESULT of [NAME]:``. Messages come back as ``{"role", "content"}``.
    """
    suffix = system_prompt_suffix(tools)
    example = in_context_example(tools) if add_in_context_example else ("", "")
    out: list[dict[str, Any]] = []
    seen_user = False
    for index, message in enumerate(messages):
        role = message.get("role")
        content = _text_of(message.get("content"))
        if role == "system":
            out.append({"role": "system", "content": content + suffix})
        elif role == "user":
            if not seen_user and example[0]:
                content = example[0] + content + example[1]
            seen_user = True
            out.append({"role": "user", "content": content})
        elif role == "assistant":
            calls = message.get("tool_calls") or []
            for call in calls:
                name, args = _call_parts(call)
                content += "\n\n" + render_tool_call_text(name, args)
            if calls:
                content = content.lstrip()
            out.append({"role": "assistant", "content": content})
        elif role == "tool":
            name = message.get("name") or "function"
            out.append({"role": "user", "content": RESULT_PREFIX.format(name=name) + content})
        else:
            raise ValueError(f"message {index} has role {role!r}; expected system, user, assistant or tool")
    return out


# ----------------------------------------------------------------------------- parsing


def _tool_map(tools: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {fn["name"]: fn for fn in (_function(t) for t in tools)}


def _unwrap(raw: str) -> str:
    # Multi-line values are written on their own lines: undo exactly that wrapping.
    if len(raw) >= 2 and raw.startswith("\n") and raw.endswith("\n"):
        return raw[1:-1]
    return raw


def _convert(name: str, raw: str, schema: dict[str, Any], fn_name: str, validate: bool) -> Any:
    kind = schema.get("type", "string")
    value: Any = _unwrap(raw)
    try:
        if kind == "integer":
            value = int(value.strip())
        elif kind == "number":
            text = value.strip()
            value = float(text) if any(c in text for c in ".eE") else int(text)
        elif kind == "boolean":
            low = value.strip().lower()
            if low not in ("true", "false"):
                raise ValueError(low)
            value = low == "true"
        elif kind in ("array", "object"):
            value = json.loads(value)
            if not isinstance(value, list if kind == "array" else dict):
                raise ValueError(value)
    except (ValueError, json.JSONDecodeError):
        if validate:
            example = "[1, 10]" if kind == "array" else '{"key": "value"}' if kind == "object" else "42" if kind in ("integer", "number") else "true"
            raise FunctionCallFormatError(
                f"Parameter '{name}' of function '{fn_name}' must be of type {kind} (for example {example}), "
                f"but got: {raw.strip()[:200]!r}. Fix the value and call the function again."
            ) from None
        value = _unwrap(raw)
    if validate and "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f"`{v}`" for v in schema["enum"])
        raise FunctionCallFormatError(
            f"Parameter '{name}' of function '{fn_name}' must be one of [{allowed}], but got {value!r}."
        )
    return value


def _parse_one(fn_name: str, body: str, tools: dict[str, dict[str, Any]], validate: bool) -> dict[str, Any]:
    fn = tools.get(fn_name)
    if fn is None and validate:
        raise FunctionCallFormatError(
            f"Function '{fn_name}' does not exist. Available functions: {', '.join(sorted(tools)) or '(none)'}. "
            "Call one of them with <function=NAME>...</function>."
        )
    params = (fn or {}).get("parameters", {})
    properties = params.get("properties", {})
    args: dict[str, Any] = {}
    for match in _PARAM_RE.finditer(body):
        name, raw = match.group(1).strip(), match.group(2)
        if validate and fn is not None and properties and name not in properties:
            raise FunctionCallFormatError(
                f"Parameter '{name}' is not allowed for function '{fn_name}'. "
                f"Allowed parameters: {', '.join(properties)}."
            )
        if validate and name in args:
            raise FunctionCallFormatError(f"Parameter '{name}' is given twice in the call to '{fn_name}'. Give it once.")
        args[name] = _convert(name, raw, properties.get(name, {}), fn_name, validate)
    if validate:
        leftover = _PARAM_RE.sub("", body)
        if "<parameter=" in leftover:
            raise FunctionCallFormatError(
                f"A parameter of function '{fn_name}' is not closed. Write each one as "
                "<parameter=NAME>value</parameter>."
            )
        missing = [p for p in params.get("required", []) if p not in args]
        if missing:
            raise FunctionCallFormatError(
                f"Missing required parameters for function '{fn_name}': {', '.join(missing)}. "
                "Add them as <parameter=NAME>value</parameter>."
            )
    return args


def _fix_stop_word(content: str) -> str:
    """Generation stops at ``</function``: complete the last call's closing tag."""
    last_open = content.rfind("<function=")
    if last_open == -1 or _FN_CLOSE in content[last_open:]:
        return content
    stripped = content.rstrip()
    for cut in ("</function", "</"):
        if stripped.endswith(cut):
            return stripped[: -len(cut)] + _FN_CLOSE
    return content + ("" if content.endswith("\n") else "\n") + _FN_CLOSE


def _find_close(content: str, pos: int) -> int:
    """Index of the ``</function>`` closing a call body at ``pos``, skipping parameter values."""
    while True:
        close = content.find(_FN_CLOSE, pos)
        param = content.find("<parameter=", pos)
        if close == -1 or param == -1 or param > close:
            return close
        param_end = content.find("</parameter>", param)
        if param_end == -1:
            return close
        pos = param_end + len("</parameter>")


def _split_calls(content: str) -> tuple[str, list[tuple[str, str]]]:
    """(text before the first call, [(name, body)]). Nothing after a closing tag is a call."""
    calls: list[tuple[str, str]] = []
    pos, first = 0, None
    while True:
        match = _FN_OPEN_RE.search(content, pos)
        if match is None:
            break
        end = _find_close(content, match.end())
        if end == -1:
            raise FunctionCallFormatError(
                f"The call to '{match.group(1)}' is not closed. End every call with </function>."
            )
        if first is None:
            first = match.start()
        body = content[match.end():end]
        calls.append((match.group(1).strip(), body[1:] if body.startswith("\n") else body))
        pos = end + len(_FN_CLOSE)
    if first is None:
        return content, []
    prefix = content[:first]
    return (prefix[:-2] if prefix.endswith("\n\n") else prefix), calls


def parse_text_tool_calls(
    content: str, tools: list[dict[str, Any]], *, validate: bool = True, id_prefix: str = "toolu_", start: int = 1
) -> tuple[str, list[ToolCall]]:
    """Split model output into (thought text, tool calls).

    Raises :class:`FunctionCallFormatError` (a message the model can act on) for an unknown
    function, unknown/missing/ill-typed parameters or an unclosed tag. ``validate=False`` keeps
    whatever was written (for reading recorded conversations).
    """
    if not isinstance(content, str):
        raise FunctionCallFormatError(f"Expected text output, got {type(content).__name__}.")
    mapping = _tool_map(tools)
    text, raw_calls = _split_calls(_fix_stop_word(content))
    calls = []
    for offset, (name, body) in enumerate(raw_calls):
        if validate and not name:
            raise FunctionCallFormatError("A function call has no name. Write <function=NAME>.")
        args = _parse_one(name, body, mapping, validate)
        calls.append(ToolCall(id=f"{id_prefix}{start + offset:02d}", name=name, arguments=json.dumps(args, ensure_ascii=False)))
    return text, calls


def messages_from_text(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text format → native tool calls (inverse of :func:`messages_to_text`).

    Removes the system-prompt suffix and the in-context example, turns ``<function=…>`` blocks
    into ``tool_calls`` and ``EXECUTION RESULT of [NAME]:`` user messages into ``tool`` messages
    answering the pending calls in order. Recorded calls are not validated.
    """
    suffix = system_prompt_suffix(tools)
    prefix, example_suffix = in_context_example(tools)
    out: list[dict[str, Any]] = []
    pending: list[str] = []
    counter = 1
    seen_user = False
    for index, message in enumerate(copy.deepcopy(messages)):
        role = message.get("role")
        content = _text_of(message.get("content"))
        if role == "system":
            cut = content.rfind(suffix) if suffix else -1
            out.append({"role": "system", "content": content[:cut] if cut >= 0 else content})
        elif role == "user":
            if not seen_user and prefix and content.startswith(prefix) and content.endswith(example_suffix):
                content = content[len(prefix): len(content) - len(example_suffix)]
            seen_user = True
            match = _RESULT_RE.match(content)
            if match and (pending or out and out[-1]["role"] in ("assistant", "tool")):
                call_id = pending.pop(0) if pending else f"toolu_{counter - 1:02d}"
                out.append({"role": "tool", "tool_call_id": call_id, "name": match.group(1), "content": match.group(2)})
            else:
                out.append({"role": "user", "content": content})
        elif role == "assistant":
            try:
                text, calls = parse_text_tool_calls(content, tools, validate=False, start=counter)
            except FunctionCallFormatError:
                text, calls = content, []
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if calls:
                msg["tool_calls"] = [c.to_openai() for c in calls]
                pending = [c.id for c in calls]
                counter += len(calls)
            out.append(msg)
        elif role == "tool":
            out.append(message)
        else:
            raise ValueError(f"message {index} has role {role!r}; expected system, user, assistant or tool")
    return out


__all__ = [
    "STOP_WORDS", "FunctionCallFormatError", "clean_nulls", "in_context_example", "messages_from_text",
    "messages_to_text", "parse_text_tool_calls", "render_tool_call_text", "system_prompt_suffix",
    "tool_names", "tools_description",
]


# ------------------------------------------------------- the fork's own reading of a reply

_OH_FN_RE = re.compile(r"<function=([^>]+)>\n(.*?)</function>", re.DOTALL)
_OH_PARAM_RE = re.compile(r"<parameter=([^>]+)>(.*?)</parameter>", re.DOTALL)


class FunctionCallValidationError(FunctionCallFormatError):
    """OpenHands' ``FunctionCallValidationError``: the agent sees the text as an error observation."""


def _set_text(names: Iterable[str]) -> str:
    # OpenHands prints a Python set (order by string hash); the schema's order keeps it reproducible
    return "{" + ", ".join(repr(n) for n in names) + "}"


def parse_openhands_reply(content: str, tools: list[dict[str, Any]], *, call_id: str = "toolu_01"
                          ) -> tuple[str, list[ToolCall]]:
    """Read one text-mode reply exactly as the SWE-Gym fork (OpenHands 0.13.1) did.

    ``convert_non_fncall_messages_to_fncall_messages``: complete a missing stop word (only when
    there is exactly one ``<function=``), take the *first* ``<function=NAME>\\n…</function>``
    only, strip every parameter value, convert ``integer`` and ``array`` parameters, check enums
    and required parameters, and keep the text before ``<function=`` stripped as the thought.
    A reply without a call comes back unchanged with no calls. Errors carry the fork's texts.
    """
    original = content
    if content.count("<function=") == 1:
        content = content.rstrip() + "function>" if content.endswith("</") else content + "\n</function>"
    match = _OH_FN_RE.search(content)
    if match is None:
        return original, []  # the message is kept as it came
    fn_name, body = match.group(1), match.group(2)
    mapping = {fn["name"]: fn for fn in (_function(t) for t in tools)}
    fn = mapping.get(fn_name)
    if fn is None:
        raise FunctionCallValidationError(f"Function '{fn_name}' not found in available tools: {list(mapping)}")
    properties = fn.get("parameters", {}).get("properties", {})
    required = fn.get("parameters", {}).get("required", [])
    params: dict[str, Any] = {}
    for param in _OH_PARAM_RE.finditer(body):
        name, value = param.group(1), param.group(2).strip()
        if properties and name not in properties:
            raise FunctionCallValidationError(f"Parameter '{name}' is not allowed for function '{fn_name}'. "
                                              f"Allowed parameters: {_set_text(properties)}")
        kind = properties.get(name, {}).get("type", "string")
        if kind == "integer":
            try:
                value = int(value)
            except ValueError:
                raise FunctionCallValidationError(f"Parameter '{name}' is expected to be an integer.") from None
        elif kind == "array":
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise FunctionCallValidationError(f"Parameter '{name}' is expected to be an array.") from None
        enum = properties.get(name, {}).get("enum")
        if enum is not None and value not in enum:
            raise FunctionCallValidationError(f"Parameter '{name}' is expected to be one of {enum}.")
        params[name] = value
    missing = [p for p in required if p not in params]
    if missing:
        raise FunctionCallValidationError(
            f"Missing required parameters for function '{fn_name}': {_set_text(missing)}")
    thought = content.split("<function=")[0].strip()
    return thought, [ToolCall(id=call_id, name=fn_name, arguments=json.dumps(params))]
