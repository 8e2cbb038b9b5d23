"""The orm verifier against a real loopback OpenAI-compatible server that returns logprobs."""
from __future__ import annotations

import math

import pytest

import swegym
from swegym import InfrastructureError, SwegymError, Trajectory
from swegym_orm.api import score_from_logprobs

from openai_server import OpenAIServer, Reply


def traj(i: int, text: str) -> Trajectory:
    return Trajectory(instance_id=f"demo__t-{i}", run_id="r", scaffold="openhands", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Fix the bug"},
        {"role": "assistant", "content": text},
    ], evaluation={"status": "resolved"})


def judged(p_yes: float) -> Reply:
    """A server reply ``<judgement>YES…`` whose label position offers YES/NO with P(YES)=p_yes."""
    ly, ln = math.log(p_yes), math.log(1 - p_yes)
    label = {"YES": ly, "NO": ln} if ly >= ln else {"NO": ln, "YES": ly}
    return Reply.text("<judgement>YES</judgement>", top_logprobs=[
        {"<": -0.01, "Sure": -5.0}, {"judgement": -0.01}, {">": -0.01}, label, {"</": -0.01},
    ])


def test_scores_come_from_label_logprobs_over_http():
    def responder(req):
        user = req.body["messages"][1]["content"]
        return judged(0.9 if "tests pass" in user else 0.2)

    with OpenAIServer(responder=responder) as srv:
        v = swegym.create("verifier", "orm", api_base=srv.url, api_model="orm-test", batch_size=3, progress=False)
        scores = v.score([traj(0, "all tests pass"), traj(1, "gave up"), traj(2, "all tests pass")])
        assert scores == pytest.approx([0.9, 0.2, 0.9])
        body = srv.chat_requests()[0].body
        assert body["logprobs"] is True and body["top_logprobs"] >= 2 and body["temperature"] == 0.0
        assert body["model"] == "orm-test"
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert "=== INTERACTION LOG ===" in body["messages"][1]["content"]


def test_retries_server_errors_then_reports_infrastructure_failure():
    with OpenAIServer([Reply.error(503), judged(0.7)]) as srv:
        v = swegym.create("verifier", "orm", api_base=srv.url, api_model="m", progress=False)
        assert v.score([traj(0, "x")]) == pytest.approx([0.7])
    with OpenAIServer(responder=lambda req: Reply.error(500)) as srv:
        v = swegym.create("verifier", "orm", api_base=srv.url, api_model="m", progress=False)
        with pytest.raises(InfrastructureError, match="failed 3 times"):
            v.score([traj(0, "x")])
    with OpenAIServer([Reply.error(400, "bad model")]) as srv:
        v = swegym.create("verifier", "orm", api_base=srv.url, api_model="m", progress=False)
        with pytest.raises(SwegymError, match="HTTP 400"):
            v.score([traj(0, "x")])


def test_server_without_logprobs_is_a_clear_error():
    with OpenAIServer([Reply.text("<judgement>YES</judgement>")]) as srv:
        v = swegym.create("verifier", "orm", api_base=srv.url, api_model="m", progress=False)
        with pytest.raises(SwegymError, match="no token logprobs"):
            v.score([traj(0, "x")])


def test_label_position_parsing():
    content = [
        {"token": "<", "logprob": -0.1, "top_logprobs": []},
        {"token": "judgement", "logprob": -0.1, "top_logprobs": []},
        {"token": ">", "logprob": -0.1, "top_logprobs": []},
        {"token": "Y", "logprob": math.log(0.6), "top_logprobs": [{"token": "Y", "logprob": math.log(0.6)},
                                                                 {"token": "NO", "logprob": math.log(0.3)}]},
    ]
    assert score_from_logprobs(content, "<judgement>", "YES", "NO") == pytest.approx(0.6 / 0.9)
    # Moatless: the label is the first token; "Tr" counts as a prefix of "True".
    moat = [{"token": "False", "logprob": math.log(0.7),
             "top_logprobs": [{"token": "False", "logprob": math.log(0.7)}, {"token": " Tr", "logprob": math.log(0.1)}]}]
    assert score_from_logprobs(moat, "", "True", "False") == pytest.approx(0.1 / 0.8)
    # Only one label offered: certainty; none offered: unknown.
    assert score_from_logprobs([{"token": "NO", "logprob": -0.01, "top_logprobs": []}], "", "YES", "NO") == 0.0
    assert score_from_logprobs([{"token": "maybe", "logprob": -0.01, "top_logprobs": []}], "", "YES", "NO") is None
