"""HFPolicy: chat completion with an in-process transformers model, via its chat template.

Native function calling is not offered (scaffolds then use the text ``<function=...>`` format),
stop strings cut the reply like an OpenAI server does (the stop string itself is not returned),
temperature 0 is greedy decoding, and a prompt longer than the model's positions comes back as
``outcome="context_window_exceeded"`` instead of a crash.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from swegym import Policy, PolicyResponse, SamplingParams, SwegymError, Usage

from .loading import LoadedModel, load


def _coerce_sampling(value: SamplingParams | dict[str, Any] | None, **overrides: Any) -> SamplingParams:
    """Default sampling from a SamplingParams, a dict, or keyword options (temperature=..., stop=...)."""
    base = asdict(value) if isinstance(value, SamplingParams) else dict(value or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(base.get("stop"), str):
        base["stop"] = [base["stop"]]
    try:
        return SamplingParams(**base)
    except TypeError as exc:
        raise SwegymError(f"hf policy: bad option(s) {sorted(base)}: {exc}; sampling options are "
                          f"temperature, top_p, max_tokens, stop, seed") from None


def _chat_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages a chat template can render: text content, no null-valued keys."""
    out = []
    for msg in messages:
        clean = {k: v for k, v in msg.items() if v is not None}
        content = msg.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text") or "" for p in content if isinstance(p, dict))
        clean["content"] = content or ""
        out.append(clean)
    return out


def cut_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """``text`` up to the earliest stop string, and whether one was found."""
    best = -1
    for s in stop or []:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and (best == -1 or i < best):
            best = i
    return (text, False) if best == -1 else (text[:best], True)


def _stop_criteria(tokenizer: Any, stop: list[str], n_prompt: int) -> Any:
    """Stop generating once the decoded reply contains a stop string.

    Why not transformers' ``stop_strings``: it precomputes tables over the whole vocabulary for
    every new set of stop strings, which costs seconds per call on a small CPU; decoding the
    reply so far costs far less than one forward pass.
    """
    from transformers import StoppingCriteria, StoppingCriteriaList

    longest = max(len(s) for s in stop)

    class StopOnText(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            tail = tokenizer.decode(input_ids[0, n_prompt:][-(longest + 8):], skip_special_tokens=True)
            done = any(s in tail for s in stop)
            return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopOnText()])


class HFPolicy(Policy):
    """A HF model directory, hub name (org/name) or .gguf file (default: SmolLM2-135M-Instruct GGUF)."""

    name = "hf"

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = "cpu",
        dtype: str | None = None,
        max_new_tokens: int = 512,
        chat_template: str | None = None,
        sampling: SamplingParams | dict[str, Any] | None = None,
        num_threads: int | str | None = "auto",
        **sampling_options: Any,
    ) -> None:
        self.sampling = _coerce_sampling(sampling, **sampling_options)
        if max_new_tokens < 1:
            raise SwegymError(f"hf policy: max_new_tokens must be >= 1, got {max_new_tokens}")
        self._loaded: LoadedModel = load(model, device=device, dtype=dtype)
        self.model = model and str(model) or self._loaded.source.rsplit("/", 1)[-1]
        self.max_new_tokens = int(max_new_tokens)
        self.chat_template = chat_template
        #: CPU threads for generation: an int, None (torch's default) or "auto" (see _threads).
        self.num_threads = num_threads
        if chat_template is None and not getattr(self._loaded.tokenizer, "chat_template", None):
            raise SwegymError(f"hf policy: the tokenizer of {self._loaded.source} has no chat template; "
                              f"pass chat_template=<a Jinja chat template>")

    @property
    def max_positions(self) -> int:
        return self._loaded.max_positions

    def describe(self) -> dict[str, Any]:
        return {"policy": self.name, "model": self.model, "source": self._loaded.source, "device": self._loaded.device,
                "max_new_tokens": self.max_new_tokens, "sampling": asdict(self.sampling)}

    def _eos_ids(self) -> list[int]:
        """End-of-turn ids: the tokenizer's EOS plus the model's generation config (chat models often differ)."""
        ids: list[int] = []
        for value in (self._loaded.tokenizer.eos_token_id,
                      getattr(getattr(self._loaded.model, "generation_config", None), "eos_token_id", None)):
            for i in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(i, int) and i not in ids:
                    ids.append(i)
        return ids

    def _threads(self, current: int) -> int | None:
        """Threads for this call. "auto": one thread when the CPUs are already busy.

        Why: a small model's matmuls gain little from threads, and on an oversubscribed machine
        (parallel rollouts, tests) OpenMP threads spin against each other; measured on 2 busy
        cores, 1 thread generated 3-4x faster than 2.
        """
        if self.num_threads != "auto":
            return int(self.num_threads) if self.num_threads else None
        if self._loaded.device != "cpu":
            return None
        try:
            busy = os.getloadavg()[0] >= (os.cpu_count() or 1)
        except OSError:
            busy = False
        return 1 if busy else current

    def render(self, messages: list[dict[str, Any]]) -> str:
        """The prompt text the model sees (chat template with the generation prompt)."""
        try:
            return self._loaded.tokenizer.apply_chat_template(
                _chat_messages(messages), tokenize=False, add_generation_prompt=True, chat_template=self.chat_template)
        except Exception as exc:  # noqa: BLE001 - jinja errors from the template
            raise SwegymError(f"hf policy: the chat template of {self.model} cannot render these messages "
                              f"({type(exc).__name__}: {exc}); pass chat_template= to override it") from None

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        sampling: SamplingParams | None = None,
    ) -> PolicyResponse:
        """Generate one reply. ``tools`` are ignored: this policy speaks the text format only."""
        sampling = sampling if sampling is not None else self.sampling
        # One model object serves every thread; fast tokenizers are not thread-safe either,
        # so the whole call (encode, generate, decode) holds the model's lock.
        with self._loaded.lock:
            return self._generate(messages, sampling)

    def _generate(self, messages: list[dict[str, Any]], sampling: SamplingParams) -> PolicyResponse:
        import torch
        from transformers import GenerationConfig

        tok, net = self._loaded.tokenizer, self._loaded.model
        prompt = self.render(messages)
        enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
        n_prompt = int(enc["input_ids"].shape[1])
        room = self.max_positions - n_prompt
        if room < 1:
            return PolicyResponse(content="", usage=Usage(n_prompt, 0, 0.0, calls=1),
                                  outcome="context_window_exceeded", finish_reason="context_window_exceeded")
        budget = min(sampling.max_tokens or self.max_new_tokens, room)
        eos = self._eos_ids()
        config = GenerationConfig(
            max_new_tokens=budget,
            do_sample=sampling.temperature > 0,
            eos_token_id=eos or None,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else (eos[0] if eos else None),
            **({"temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
               if sampling.temperature > 0 else {}),
        )
        stop = [s for s in (sampling.stop or []) if s]
        extra: dict[str, Any] = {}
        if stop:
            extra["stopping_criteria"] = _stop_criteria(tok, stop, n_prompt)
        inputs = {k: v.to(self._loaded.device) for k, v in enc.items()}
        with torch.inference_mode():
            threads = torch.get_num_threads()
            wanted = self._threads(threads)
            if wanted and wanted != threads:
                torch.set_num_threads(wanted)
            try:
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                out = net.generate(**inputs, generation_config=config, **extra)
            finally:
                torch.set_num_threads(threads)
        generated = out[0, n_prompt:].tolist()
        hit_eos = bool(generated) and generated[-1] in eos
        text = tok.decode(generated, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, stop)
        finish = "stop" if stopped or hit_eos else "length"
        return PolicyResponse(content=text, usage=Usage(n_prompt, len(generated), 0.0, calls=1), outcome="ok",
                              finish_reason=finish)

    def __repr__(self) -> str:
        return f"HFPolicy(model={self.model!r}, device={self._loaded.device!r})"
