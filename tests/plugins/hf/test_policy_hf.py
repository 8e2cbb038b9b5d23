"""The hf policy: a tiny random Llama built here for the unit tests, the real SmolLM2 GGUF for an episode."""
from __future__ import annotations

import importlib.util
import os
import threading
import time

import pytest

import swegym

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
MAX_POS = 256


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer random Llama with a character-level tokenizer and a ChatML template, saved locally."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    chars = [chr(i) for i in range(32, 127)] + ["\n"]
    vocab = {tok: i for i, tok in enumerate(specials + chars)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.add_special_tokens(specials)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHATML
    tok.save_pretrained(folder)
    cfg = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=MAX_POS,
                      bos_token_id=None, eos_token_id=vocab["<|im_end|>"], pad_token_id=0, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # never pick a special token: replies are long enough to test stop strings
        model.lm_head.weight[: len(specials)] = 0.0
        model.lm_head.weight[len(specials):] *= 50.0
    model.save_pretrained(folder)
    return folder


MSGS = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix it"}]


def test_chat_template_and_greedy_determinism(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model))
    assert not policy.supports_function_calling
    prompt = policy.render(MSGS)
    assert prompt == "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nfix it<|im_end|>\n<|im_start|>assistant\n"
    sampling = swegym.SamplingParams(temperature=0.0, max_tokens=20)
    first = policy.complete(MSGS, sampling=sampling)
    second = policy.complete(MSGS, sampling=sampling)
    assert first.outcome == "ok" and first.content == second.content and len(first.content) > 0
    # character-level tokenizer: 2 specials per message + 1 in the generation prompt, one token per character
    assert first.usage.prompt_tokens == len(policy._loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert first.usage.prompt_tokens == 2 * 2 + 1 + len("system\nsys\nuser\nfix it\nassistant\n")
    assert first.usage.completion_tokens == 20 and first.finish_reason == "length"
    assert first.usage.cost == 0.0 and first.usage.calls == 1


def test_stop_string_cuts_reply(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model))
    full = policy.complete(MSGS, sampling=swegym.SamplingParams(max_tokens=40)).content
    assert len(full) >= 30
    stop = full[12:15]
    expected = full[: full.find(stop)]
    resp = policy.complete(MSGS, sampling=swegym.SamplingParams(max_tokens=40, stop=["never-there", stop]))
    assert resp.content == expected and stop not in resp.content
    assert resp.finish_reason == "stop"
    assert resp.usage.completion_tokens < 40  # generation stopped early, not just cut afterwards


def test_seeded_sampling_is_reproducible(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model))
    s = swegym.SamplingParams(temperature=1.0, top_p=1.0, max_tokens=24, seed=123)
    a, b = policy.complete(MSGS, sampling=s), policy.complete(MSGS, sampling=s)
    c = policy.complete(MSGS, sampling=swegym.SamplingParams(temperature=1.0, max_tokens=24, seed=7))
    assert a.content == b.content and a.content != c.content


def test_context_overflow_is_an_outcome(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model))
    resp = policy.complete([{"role": "user", "content": "x" * (MAX_POS + 10)}])
    assert resp.outcome == "context_window_exceeded" and resp.content == ""
    assert resp.usage.prompt_tokens > MAX_POS and resp.usage.completion_tokens == 0
    # nearly full: the reply is cut to the room left instead of overflowing
    near = policy.complete([{"role": "user", "content": "x" * (MAX_POS - 20)}],
                           sampling=swegym.SamplingParams(max_tokens=100))
    assert near.outcome == "ok" and near.usage.prompt_tokens + near.usage.completion_tokens == MAX_POS
    assert near.finish_reason == "length"


def test_model_loaded_once_and_threads_share_it(tiny_model):
    p1 = swegym.create("policy", "hf", model=str(tiny_model))
    p2 = swegym.create("policy", "hf", model=str(tiny_model), max_new_tokens=16)
    assert p1._loaded is p2._loaded
    sampling = swegym.SamplingParams(max_tokens=16)
    expected = p1.complete(MSGS, sampling=sampling).content
    results: list[str] = []
    threads = [threading.Thread(target=lambda p=p: results.append(p.complete(MSGS, sampling=sampling).content))
               for p in (p1, p2, p1, p2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_tools_ignored_and_null_keys_tolerated(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model), max_new_tokens=8)
    msgs = [{"role": "user", "content": "hi", "tool_calls": None},
            {"role": "assistant", "content": None, "tool_calls": None},
            {"role": "user", "content": [{"type": "text", "text": "more"}]}]
    resp = policy.complete(msgs, tools=[{"type": "function", "function": {"name": "f"}}])
    assert resp.tool_calls == [] and resp.usage.completion_tokens == 8
    assert "<|im_start|>user\nmore<|im_end|>" in policy.render(msgs)


def test_chat_template_override(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model),
                           chat_template="{% for m in messages %}[{{ m['content'] }}]{% endfor %}>")
    assert policy.render(MSGS) == "[sys][fix it]>"
    assert policy.complete(MSGS, sampling=swegym.SamplingParams(max_tokens=4)).usage.prompt_tokens == len("[sys][fix it]>")


def test_bad_model_paths_are_clear_errors(tmp_path, tiny_model):
    with pytest.raises(swegym.SwegymError, match="neither an existing file or folder nor a hub name"):
        swegym.create("policy", "hf", model=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(swegym.SwegymError, match="neither a HF model directory"):
        swegym.create("policy", "hf", model=str(tmp_path / "empty"))
    with pytest.raises(swegym.SwegymError, match="no chat template"):
        folder = tmp_path / "notemplate"
        folder.mkdir()
        for f in tiny_model.iterdir():
            if f.name != "chat_template.jinja":
                text = f.read_bytes()
                if f.name == "tokenizer_config.json":
                    import json

                    cfg = json.loads(text)
                    cfg.pop("chat_template", None)
                    text = json.dumps(cfg).encode()
                (folder / f.name).write_bytes(text)
        swegym.create("policy", "hf", model=str(folder))
    with pytest.raises(swegym.SwegymError, match="dtype"):
        swegym.create("policy", "hf", model=str(tiny_model), dtype="float7")
    with pytest.raises(swegym.SwegymError, match=r"unknown option\(s\) temprature; valid options: .*temperature"):
        swegym.create("policy", "hf", model=str(tiny_model), temprature=0.5)


def test_thread_setting_is_restored(tiny_model):
    before = torch.get_num_threads()
    for threads in (1, "auto", None):
        policy = swegym.create("policy", "hf", model=str(tiny_model), max_new_tokens=2, num_threads=threads)
        assert policy.complete(MSGS).usage.completion_tokens == 2
        assert torch.get_num_threads() == before
    assert swegym.create("policy", "hf", model=str(tiny_model), num_threads=1)._threads(before) == 1


def test_default_sampling_from_options(tiny_model):
    policy = swegym.create("policy", "hf", model=str(tiny_model), max_tokens=5, stop="never")
    assert policy.sampling.max_tokens == 5 and policy.sampling.stop == ["never"]
    assert policy.complete(MSGS).usage.completion_tokens == 5


# -- the real small model -----------------------------------------------------------------------

def _smollm2_or_skip() -> None:
    from tiny_model import have_smollm2

    if not have_smollm2() or importlib.util.find_spec("gguf") is None:
        msg = "the SmolLM2 GGUF (bash scripts/install-models.sh) and gguf are needed"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)


SYSTEM = (
    "You are a coding agent. To run a shell command, answer with exactly:\n"
    "<function=execute_bash>\n<parameter=command>THE COMMAND</parameter>\n</function>"
)


@pytest.mark.slow
def test_smollm2_drives_a_short_episode():
    """The bundled SmolLM2-135M GGUF on CPU: several turns with observations fed back, stop strings honoured."""
    _smollm2_or_skip()
    t0 = time.monotonic()
    policy = swegym.create("policy", "hf")  # default model: SmolLM2-135M-Instruct GGUF
    assert policy.max_positions >= 2048
    sampling = swegym.SamplingParams(temperature=0.0, max_tokens=12, stop=["</function"])
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": "The test tests/test_math.py fails. List the files in the repository."}]
    prompt_sizes = []
    for turn in range(3):
        resp = policy.complete(messages, sampling=sampling)
        assert resp.outcome == "ok" and resp.finish_reason in ("stop", "length")
        assert 0 < resp.usage.completion_tokens <= 12 and "</function" not in resp.content
        prompt_sizes.append(resp.usage.prompt_tokens)
        messages.append(resp.to_message())
        messages.append({"role": "user", "content": f"EXECUTION RESULT of [execute_bash]:\nsrc tests README.md\n"
                                                    f"[Command finished with exit code 0] (turn {turn + 1})"})
    assert prompt_sizes[0] < prompt_sizes[1] < prompt_sizes[2] and prompt_sizes[2] > prompt_sizes[0] + 40

    colors = [{"role": "system", "content": "You are a helpful assistant."},
              {"role": "user", "content": "List three colors."}]
    full = policy.complete(colors, sampling=swegym.SamplingParams(max_tokens=12))
    first_line = full.content.split("\n")[0]
    assert "\n" in full.content and first_line
    cut = policy.complete(colors, sampling=swegym.SamplingParams(max_tokens=12, stop=["\n"]))
    assert cut.content == first_line and cut.finish_reason == "stop"
    assert cut.usage.completion_tokens < full.usage.completion_tokens
    assert time.monotonic() - t0 < 180  # ~15 s unloaded once the GGUF conversion is cached
