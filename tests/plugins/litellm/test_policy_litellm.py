"""The litellm policy against a real OpenAI-compatible HTTP server on loopback (tests/openai_server.py)."""
from __future__ import annotations

import importlib.util
import json
import logging
import sys
import urllib.request
from pathlib import Path

import pytest

import swegym
from openai_server import OpenAIServer, Reply, openai_server  # noqa: F401 - fixture

if importlib.util.find_spec("litellm") is None:  # not importorskip: litellm must be imported offline (by the policy)
    pytest.skip("litellm not installed (pip install 'swegym[litellm]')", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[3]
KEY = "sk-test-SECRET-4f9a1c77e2"
TOOLS = [{
    "type": "function",
    "function": {
        "name": "execute_bash",
        "description": "Run a shell command.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
}]
MSGS = [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": "Fix the bug."}]


def make(server: OpenAIServer, **kw):
    opts = {"model": "served-model", "api_base": server.url, "api_key": KEY, "backoff_base": 0.01,
            "backoff_max": 0.05, "max_retries": 3, **kw}
    return swegym.create("policy", "litellm", **opts)


def test_plain_text_reply_and_what_was_sent(openai_server):
    openai_server.script(Reply.text("Hello there.", prompt_tokens=42, completion_tokens=3))
    policy = make(openai_server)
    sampling = swegym.SamplingParams(temperature=0.7, top_p=0.9, max_tokens=128, stop=["</function"], seed=7)
    resp = policy.complete(MSGS, sampling=sampling)

    assert resp.outcome == "ok" and resp.content == "Hello there." and resp.tool_calls == []
    assert resp.finish_reason == "stop"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.calls) == (42, 3, 1)
    assert resp.usage.cost is None  # an unknown served model has no price: tolerated
    [req] = openai_server.chat_requests()
    body = req.body
    assert body["model"] == "served-model"
    assert body["messages"] == MSGS
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (0.7, 0.9, 128, 7)
    assert body["stop"] == ["</function"]
    assert req.authorization == f"Bearer {KEY}"
    assert KEY not in req.raw.decode()  # the key travels only in the Authorization header


def test_default_sampling_from_options(openai_server):
    openai_server.script(Reply.text("ok"))
    policy = make(openai_server, temperature=0.3, max_tokens=55)
    policy.complete(MSGS)
    body = openai_server.requests[0].body
    assert body["temperature"] == 0.3 and body["max_tokens"] == 55


def test_native_tool_calls(openai_server):
    openai_server.script(Reply.calls([("execute_bash", {"command": "ls -la"}), ("execute_bash", {"command": "pwd"})],
                                     content="Looking around."))
    policy = make(openai_server, function_calling="native")
    assert policy.supports_function_calling
    resp = policy.complete(MSGS, tools=TOOLS)

    assert [c.name for c in resp.tool_calls] == ["execute_bash", "execute_bash"]
    assert [json.loads(c.arguments) for c in resp.tool_calls] == [{"command": "ls -la"}, {"command": "pwd"}]
    assert all(c.id.startswith("call_") for c in resp.tool_calls)
    assert resp.content == "Looking around." and resp.finish_reason == "tool_calls"
    assert resp.to_message()["tool_calls"][0]["function"]["name"] == "execute_bash"
    assert openai_server.requests[0].body["tools"] == TOOLS


def test_text_format_for_unknown_served_model(openai_server):
    text_call = "Let me look.\n<function=execute_bash>\n<parameter=command>ls</parameter>\n"
    openai_server.script(Reply.text(text_call + "</function>\nmore text the server must not send"))
    policy = make(openai_server)  # function_calling="auto" and litellm does not know "served-model"
    assert not policy.supports_function_calling
    resp = policy.complete(MSGS, tools=TOOLS, sampling=swegym.SamplingParams(stop=["</function"]))

    assert resp.content == text_call and resp.tool_calls == [] and resp.finish_reason == "stop"
    body = openai_server.requests[0].body
    assert "tools" not in body  # the scaffold renders tools into the prompt instead
    assert body["stop"] == ["</function"]


def test_known_model_auto_detects_native_and_prices(openai_server):
    openai_server.script(Reply.text("hi", prompt_tokens=1000, completion_tokens=100))
    policy = make(openai_server, model="openai/gpt-4o-mini")
    assert policy.supports_function_calling
    resp = policy.complete(MSGS)
    assert resp.usage.cost is not None and resp.usage.cost > 0
    assert openai_server.requests[0].body["model"] == "gpt-4o-mini"


def test_custom_prices(openai_server):
    openai_server.script(Reply.text("hi", prompt_tokens=10, completion_tokens=5))
    resp = make(openai_server, input_cost_per_token=0.5, output_cost_per_token=2.0).complete(MSGS)
    assert resp.usage.cost == pytest.approx(15.0)


@pytest.mark.parametrize("first", [Reply.error(429, "Rate limit reached"), Reply.error(500, "boom"),
                                   Reply.error(503, "overloaded"), Reply.error(502, "bad gateway")])
def test_transient_error_then_success(openai_server, first):
    openai_server.script(first, Reply.text("recovered"))
    resp = make(openai_server).complete(MSGS)
    assert resp.content == "recovered" and resp.usage.calls == 1
    assert len(openai_server.requests) == 2


def test_retry_after_header_is_honoured(openai_server):
    import time

    openai_server.script(Reply.error(429, headers={"retry-after": "0.4"}), Reply.text("ok"))
    t0 = time.monotonic()
    make(openai_server, backoff_max=5.0).complete(MSGS)
    assert time.monotonic() - t0 >= 0.35


def test_timeout_is_retried(openai_server):
    openai_server.script(Reply.text("too slow", delay=1.5), Reply.text("fast"))
    resp = make(openai_server, timeout=0.5).complete(MSGS)
    assert resp.content == "fast"
    assert len(openai_server.requests) == 2


def test_giving_up_raises_infrastructure_error_without_the_key(openai_server):
    openai_server.script(*[Reply.error(500, f"internal error for key {KEY}")] * 3)
    with pytest.raises(swegym.InfrastructureError) as info:
        make(openai_server, max_retries=2).complete(MSGS)
    assert len(openai_server.requests) == 3
    assert "served-model" in str(info.value) and "3 attempt" in str(info.value)
    assert KEY not in str(info.value) and KEY not in info.value.cause
    assert not isinstance(info.value, swegym.SwegymError)  # never a user/agent error


def test_connection_refused_is_infrastructure():
    server = OpenAIServer().start()
    url = server.url
    server.stop()
    policy = swegym.create("policy", "litellm", model="served-model", api_base=url, api_key=KEY,
                           max_retries=1, backoff_base=0.01, timeout=5)
    with pytest.raises(swegym.InfrastructureError):
        policy.complete(MSGS)


def test_context_length_400_is_an_outcome(openai_server):
    openai_server.script(Reply.context_overflow())
    resp = make(openai_server).complete(MSGS)
    assert resp.outcome == "context_window_exceeded"
    assert resp.content == "" and resp.tool_calls == []
    assert len(openai_server.requests) == 1  # not retried


def test_rejected_request_is_a_user_error_with_key_redacted(openai_server):
    openai_server.script(Reply.error(401, f"Incorrect API key provided: {KEY}."))
    with pytest.raises(swegym.SwegymError) as info:
        make(openai_server).complete(MSGS)
    assert "***" in str(info.value) and KEY not in str(info.value)
    assert "API key" in str(info.value)
    assert len(openai_server.requests) == 1


def test_key_never_printed_or_logged(openai_server, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    openai_server.script(Reply.error(429, f"slow down {KEY}"), Reply.text("ok"))
    policy = make(openai_server)
    policy.complete(MSGS)
    shown = [repr(policy), str(policy), f"{policy!r}", json.dumps(policy.describe()), repr(policy._api_key),
             f"{policy._api_key}", caplog.text]
    out = capsys.readouterr()
    shown += [out.out, out.err]
    assert all(KEY not in s for s in shown)
    assert "***" in repr(policy)


def test_null_keys_from_released_rows_are_not_sent(openai_server):
    openai_server.script(Reply.text("ok"))
    msgs = [{"role": "user", "content": "hi", "tool_calls": None, "name": None, "tool_call_id": None},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "index": None, "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "content": "out", "tool_call_id": "c1", "name": "f", "tool_calls": None}]
    make(openai_server, function_calling="native").complete(msgs)
    sent = openai_server.requests[0].body["messages"]
    assert sent[0] == {"role": "user", "content": "hi"}
    assert "index" not in sent[1]["tool_calls"][0]
    assert "tool_calls" not in sent[2]


def test_bad_options_are_clear_errors():
    with pytest.raises(swegym.SwegymError, match="model"):
        swegym.create("policy", "litellm", model="")
    with pytest.raises(swegym.SwegymError, match="function_calling"):
        swegym.create("policy", "litellm", model="gpt-4o", function_calling="maybe")
    with pytest.raises(swegym.SwegymError, match="sampling"):
        swegym.create("policy", "litellm", model="gpt-4o", temprature=0.1)
    with pytest.raises(swegym.SwegymError, match="max_retries"):
        swegym.create("policy", "litellm", model="gpt-4o", max_retries="lots")


def test_policy_pickles_with_key_kept_but_hidden(openai_server):
    import pickle

    openai_server.script(Reply.text("from a copy"))
    copy = pickle.loads(pickle.dumps(make(openai_server)))
    assert copy.complete(MSGS).content == "from a copy"
    assert openai_server.requests[0].authorization == f"Bearer {KEY}" and KEY not in repr(copy)


def test_backoff_and_classification():
    import random

    from swegym.retry import backoff
    from swegym_litellm.retry import is_context_overflow, is_retryable

    wait = backoff(1.0, 8.0, random.Random(0))
    delays = [wait(a, RuntimeError()) for a in range(6)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[2] <= 4.0
    assert all(d <= 8.0 for d in delays) and delays[5] >= 4.0

    class Status(Exception):
        def __init__(self, code, msg=""):
            super().__init__(msg)
            self.status_code = code

    assert is_retryable(Status(429)) and is_retryable(Status(503)) and not is_retryable(Status(401))
    assert is_context_overflow(Status(400, "This model's maximum context length is 8192 tokens"))
    assert not is_context_overflow(Status(400, "invalid value for temperature"))


def test_server_logprobs_for_verifiers(openai_server):
    """The test server also serves logprobs (chat and legacy completions) for P(YES) scoring."""
    alts = [{"YES": -0.1, "NO": -2.4, "Maybe": -5.0}]
    openai_server.script(Reply.text("YES", top_logprobs=alts), Reply.text("YES", top_logprobs=alts))

    def post(path, body):
        req = urllib.request.Request(f"{openai_server.url}{path}", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    chat = post("/chat/completions", {"model": "m", "messages": MSGS, "logprobs": True, "top_logprobs": 2})
    top = chat["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    assert [t["token"] for t in top] == ["YES", "NO"] and top[1]["logprob"] == -2.4
    comp = post("/completions", {"model": "m", "prompt": "Judge:", "logprobs": 2, "max_tokens": 1})
    assert comp["choices"][0]["text"] == "YES"
    assert comp["choices"][0]["logprobs"]["top_logprobs"][0] == {"YES": -0.1, "NO": -2.4}


def test_pyproject_pin_never_allows_litellm_1_107():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    [req] = [Requirement(r) for r in extras["litellm"] if r.startswith("litellm")]
    assert not any(req.specifier.contains(v) for v in ("1.107.0", "1.107.1", "1.107.5", "1.108.0"))
    assert req.specifier.contains("1.106.2")
    assert "mcp" in req.extras  # litellm.completion() imports mcp whenever tools are passed


@pytest.mark.parametrize("version", ["1.107.0", "1.107.4"])
def test_an_installed_litellm_1_107_is_refused_before_it_is_imported(version, tmp_path, monkeypatch):
    """Another package may install a compromised 1.107.x without our pin: swegym refuses to import it."""
    site = tmp_path / "site"
    info = site / f"litellm-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: litellm\nVersion: {version}\n")
    (site / "litellm").mkdir()
    (site / "litellm" / "__init__.py").write_text("raise SystemExit('the compromised litellm was imported')\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "litellm", raising=False)
    from swegym_moatless.embedders import LiteLLMEmbedder

    for attempt in (lambda: swegym.create("policy", "litellm", model="m", api_base="http://127.0.0.1:9"),
                    lambda: LiteLLMEmbedder(api_base="http://127.0.0.1:9").embed(["x"])):
        with pytest.raises(swegym.SwegymError, match=rf"litellm {version} is installed.*compromised"):
            attempt()
    assert "litellm" not in sys.modules


def test_the_tested_litellm_passes_the_guard():
    from swegym_litellm.guard import installed_litellm_version, refuse_compromised_litellm

    assert installed_litellm_version() == "1.106.2"
    refuse_compromised_litellm()


def test_key_from_environment_is_redacted_too(openai_server, monkeypatch):
    env_key = "sk-env-KEY-0a1b2c3d4e5f"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    openai_server.script(Reply.text("ok"), Reply.error(401, f"Incorrect API key provided: {env_key}"))
    policy = swegym.create("policy", "litellm", model="served-model", api_base=openai_server.url)
    policy.complete(MSGS)
    assert openai_server.requests[0].authorization == f"Bearer {env_key}"
    with pytest.raises(swegym.SwegymError) as info:
        policy.complete(MSGS)
    assert env_key not in str(info.value) and env_key not in repr(policy)


def test_keyless_local_server_gets_placeholder(openai_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    openai_server.script(Reply.text("ok"))
    swegym.create("policy", "litellm", model="served-model", api_base=openai_server.url).complete(MSGS)
    assert openai_server.requests[0].authorization == "Bearer EMPTY"
