"""Record the fork's text-mode function-call parsing (``openhands/llm/fn_call_converter.py`` at e644a2ca).

Runs ``convert_non_fncall_messages_to_fncall_messages`` on fixed model replies with swegym's tool
schemas (the released rows' tools) and writes, per reply, the converted assistant message or the
error class and text. Stand-ins replace the two modules it imports for types and exceptions.
Usage: python record_converter.py <fork checkout> <tools.json> <out.json>
"""
import importlib.util
import json
import sys
import types

FORK, TOOLS, OUT = sys.argv[1:4]


class FunctionCallConversionError(Exception):
    pass


class FunctionCallValidationError(Exception):
    pass


for name in ("openhands", "openhands.core", "litellm"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["openhands.core.exceptions"] = types.SimpleNamespace(
    FunctionCallConversionError=FunctionCallConversionError, FunctionCallValidationError=FunctionCallValidationError)
sys.modules["litellm"].ChatCompletionToolParam = dict
spec = importlib.util.spec_from_file_location("conv", f"{FORK}/openhands/llm/fn_call_converter.py")
conv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conv)

tools = json.load(open(TOOLS))
REPLIES = {
    "ok_bash": "Let me look.\n<function=execute_bash>\n<parameter=command>\n  ls -la  \n</parameter>\n</function>",
    "no_stop_word": "<function=execute_bash>\n<parameter=command>pwd</parameter>\n",
    "half_stop_word": "<function=execute_bash>\n<parameter=command>pwd</parameter>\n</",
    "unknown_function": "<function=run_python>\n<parameter=code>print(1)</parameter>\n</function>",
    "bad_parameter": "<function=execute_bash>\n<parameter=cmd>ls</parameter>\n</function>",
    "missing_parameter": "<function=str_replace_editor>\n<parameter=command>view</parameter>\n</function>",
    "bad_enum": "<function=str_replace_editor>\n<parameter=command>show</parameter>\n<parameter=path>/a</parameter>\n</function>",
    "bad_integer": "<function=str_replace_editor>\n<parameter=command>insert</parameter>\n<parameter=path>/a</parameter>\n<parameter=insert_line>ten</parameter>\n<parameter=new_str>x</parameter>\n</function>",
    "bad_array": "<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/a</parameter>\n<parameter=view_range>1-5</parameter>\n</function>",
    "good_array": "<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path> /a/b.py </parameter>\n<parameter=view_range>[1, 5]</parameter>\n</function>",
    "two_calls": "<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>\n<function=execute_bash>\n<parameter=command>pwd</parameter>\n</function>",
    "no_newline_after_name": "<function=execute_bash><parameter=command>ls</parameter></function>",
    "plain_text": "I think the fix is done.",
    "finish": "Done.\n<function=finish>\n</function>",
}
out = {}
for name, reply in REPLIES.items():
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": reply}]
    try:
        got = conv.convert_non_fncall_messages_to_fncall_messages(msgs, tools)[-1]
        out[name] = {"reply": reply, "message": got}
    except Exception as exc:
        out[name] = {"reply": reply, "error": type(exc).__name__, "text": str(exc)}
# the fork's in-context example: its rendering of [system, user] with the example on (its default)
example = conv.convert_fncall_messages_to_non_fncall_messages(
    [{"role": "system", "content": "SYSTEM"}, {"role": "user", "content": "@@TASK@@"}], tools,
    add_in_context_learning_example=True)
out["_in_context_example"] = {"system": example[0]["content"], "user": example[1]["content"]}
with open(OUT, "w") as fh:
    json.dump(out, fh, indent=1)
