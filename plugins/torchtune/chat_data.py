"""Chat JSONL → token ids + labels, with the tokenizer's own chat template.

Why its own module: the label mask is the heart of SFT correctness. Exactly the assistant turns'
tokens plus their end-of-turn token carry labels; system, user and tool turns (and the template's
glue such as ``<|im_start|>assistant\\n`` or the newline after ``<|im_end|>``) never do. The mask is
computed by rendering message prefixes with the same template a server applies at inference and
mapping character spans onto token offsets, so it works for any template whose renderings of
prefixes are prefixes of the full rendering (ChatML/Qwen2.5, Llama 3, SmolLM, …).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from swegym import DataError, SwegymError
from swegym.jsonl import iter_jsonl

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant", "tool")
# End-of-turn markers of common templates; the tokenizer's eos token is always added.
KNOWN_EOT = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>", "</s>", "<end_of_turn>")


@dataclass
class Sample:
    """One tokenized conversation: ``labels[i]`` is ``tokens[i]`` where trained, else IGNORE_INDEX."""

    tokens: list[int]
    labels: list[int]

    @property
    def num_labels(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


def _clean_message(msg: Any, path: str, row: int, idx: int) -> dict[str, Any]:
    """Validate one message; drop ``null`` keys (columnar exports) and flatten content parts."""
    where = f"messages[{idx}]"
    if not isinstance(msg, dict):
        raise DataError(f"{where} must be an object with 'role' and 'content'", path=path, row=row, field="messages")
    out = {k: v for k, v in msg.items() if v is not None}
    role = out.get("role")
    if role not in ROLES:
        raise DataError(f"{where}.role is {role!r}; use one of {', '.join(ROLES)}", path=path, row=row, field="messages")
    content = out.get("content", "")
    if isinstance(content, list):  # OpenAI content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise DataError(f"{where}.content must be a string (or a list of text parts), got {type(content).__name__}",
                        path=path, row=row, field="messages")
    out["content"] = content
    return out


def _drop_nulls(obj: Any) -> Any:
    """Columnar exports write absent keys as null; treat them as absent."""
    if isinstance(obj, dict):
        return {k: _drop_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_nulls(v) for v in obj]
    return obj


def read_conversations(path: str | Path) -> list[dict[str, Any]]:
    """Read JSONL rows ``{"messages": [...], "tools": [...]?}``; malformed rows raise DataError naming row and field."""
    path = Path(path)
    if not path.is_file():
        raise SwegymError(f"training data {path} does not exist; pass a JSONL file with one {{\"messages\": [...]}} per line")
    convs = []
    for row, obj in iter_jsonl(path):
        msgs = obj.get("messages") if isinstance(obj, dict) else None
        if not isinstance(msgs, list) or not msgs:
            raise DataError("needs a non-empty 'messages' list (OpenAI chat format)", path=str(path), row=row,
                            field="messages")
        msgs = [_clean_message(m, str(path), row, i) for i, m in enumerate(msgs)]
        if not any(m["role"] == "assistant" for m in msgs):
            raise DataError("has no assistant message, so nothing to train on", path=str(path), row=row,
                            field="messages")
        tools = obj.get("tools")
        convs.append({"messages": _drop_nulls(msgs), "tools": _drop_nulls(tools) if tools else None})
    if not convs:
        raise SwegymError(f"training data {path} has no rows")
    return convs


def end_of_turn_tokens(tokenizer: Any, extra: Sequence[str] = ()) -> list[str]:
    """Strings that close an assistant turn for this tokenizer (eos plus known template markers)."""
    vocab = tokenizer.get_vocab()
    found = [t for t in (*extra, tokenizer.eos_token, *KNOWN_EOT) if t and t in vocab]
    return list(dict.fromkeys(found))


class ChatTokenizer:
    """Render conversations with the model's chat template and compute the assistant label mask."""

    def __init__(self, tokenizer: Any, max_seq_len: int | None = None, eot_tokens: Sequence[str] = ()):
        if not getattr(tokenizer, "chat_template", None):
            raise SwegymError("the model's tokenizer has no chat template; training must use the template a server "
                              "applies at inference, so add one to tokenizer_config.json or chat_template.jinja")
        if not getattr(tokenizer, "is_fast", False):
            raise SwegymError("a fast tokenizer (tokenizer.json) is needed to map template text onto tokens")
        self.tokenizer = tokenizer
        self.max_seq_len = max_seq_len
        self.eot = end_of_turn_tokens(tokenizer, eot_tokens)

    def _render(self, messages: list[dict[str, Any]], tools: Any = None, generation_prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(messages, tools=tools, tokenize=False,
                                                  add_generation_prompt=generation_prompt)

    def assistant_spans(self, messages: list[dict[str, Any]], tools: Any = None) -> tuple[str, list[tuple[int, int]]]:
        """The full text and the character span of each assistant reply, end-of-turn marker included."""
        full = self._render(messages, tools)
        spans = []
        for i, msg in enumerate(messages):
            if msg["role"] != "assistant":
                continue
            before = self._render(messages[:i], tools, generation_prompt=True) if i else ""
            through = self._render(messages[: i + 1], tools)
            if not full.startswith(through) or not through.startswith(before):
                raise SwegymError(
                    f"the chat template renders message {i} differently inside the full conversation than as a "
                    "prefix (e.g. it rewrites earlier turns), so the assistant mask cannot be derived; use a "
                    "template that renders turns independently")
            start, end = len(before), len(through)
            segment = full[start:end]
            cut = max((segment.rfind(t) + len(t) if t in segment else -1) for t in self.eot) if self.eot else -1
            spans.append((start, start + cut if cut > 0 else end))
        return full, spans

    def encode(self, messages: list[dict[str, Any]], tools: Any = None) -> Sample:
        """Tokens and labels of one conversation, truncated to ``max_seq_len`` keeping its labels."""
        text, spans = self.assistant_spans(messages, tools)
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        tokens, offsets = enc["input_ids"], enc["offset_mapping"]
        labels = [IGNORE_INDEX] * len(tokens)
        j = 0
        for k, (s, e) in enumerate(offsets):
            while j < len(spans) and spans[j][1] <= s:
                j += 1
            if j < len(spans) and spans[j][0] <= s < spans[j][1] and e > s:
                labels[k] = tokens[k]
        if self.max_seq_len and len(tokens) > self.max_seq_len:
            tokens, labels = tokens[: self.max_seq_len], labels[: self.max_seq_len]
        return Sample(tokens, labels)

    def encode_all(self, conversations: Iterable[dict[str, Any]], progress: bool = True) -> list[Sample]:
        """Encode rows from :func:`read_conversations`; ones left with no labels (after truncation) are dropped."""
        from tqdm.auto import tqdm

        out = []
        for conv in tqdm(list(conversations), desc="tokenize", unit="conv", disable=not progress, leave=False):
            sample = self.encode(conv["messages"], conv.get("tools"))
            if sample.num_labels:
                out.append(sample)
        if not out:
            raise SwegymError("no conversation has an assistant token left after truncation; raise max_seq_len")
        return out
