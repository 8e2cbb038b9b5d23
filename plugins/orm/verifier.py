"""The ``orm`` Verifier: P(resolved) for each rollout from an outcome reward model.

Two backends: a local Hugging Face model directory (``model=``), scored in batched forward
passes, or an OpenAI-compatible server (``api_base=`` + ``api_model=``) that returns logprobs.
The prompt is the exporter's ``render_orm_conversation``, so scoring sees exactly what training saw.
"""
from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from swegym import SwegymError, Task, Trajectory, Verifier

from .labels import check_template, conversation, prepare


class OrmVerifier(Verifier):
    """Outcome reward model: P(YES) = softmax over the YES/NO label tokens at the answer position."""

    name = "orm"

    def __init__(self, model: str | Path | None = None, *, api_base: str | None = None, api_model: str | None = None,
                 batch_size: int = 8, template: str = "openhands", max_length: int | None = None,
                 device: str = "cpu", gguf_file: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                 progress: bool = True):
        check_template(template)
        if (model is None) == (api_base is None):
            raise SwegymError("the orm verifier needs exactly one of model=DIR (local) or api_base=URL (server)")
        if batch_size < 1:
            raise SwegymError(f"batch_size must be >= 1, got {batch_size}")
        self.template, self.batch_size, self.max_length, self.device = template, batch_size, max_length, device
        self.progress = progress
        self._tokenizer = self._model = self._api = None
        if model is not None:
            from .local import load_model

            self._tokenizer, self._model = load_model(model, device=device, gguf_file=gguf_file)
            self.label = str(model)
            if self.max_length is None:
                self.max_length = getattr(self._model.config, "max_position_embeddings", None)
        else:
            from .api import ApiScorer

            if not api_model:
                raise SwegymError("api_base needs api_model: the model name the server serves")
            self._api = ApiScorer(api_base, api_model, template, api_key_env=api_key_env)  # type: ignore[arg-type]
            self.label = f"{api_base}#{api_model}"

    def _bar(self, total: int) -> Any:
        from tqdm import tqdm

        return tqdm(total=total, desc="score", unit="rollout", disable=None if self.progress else True)

    def score(self, trajectories: Sequence[Trajectory], tasks: dict[str, Task] | None = None) -> list[float]:
        """One P(resolved) per trajectory, in order."""
        tasks = tasks or {}
        conversations = [conversation(t, self.template, tasks.get(t.instance_id)) for t in trajectories]
        with self._bar(len(conversations)) as bar:
            if self._api is not None:
                return self._score_api(conversations, bar)
            from .local import pad_id, score_prepared

            items = [prepare(self._tokenizer, c, self.template, self.max_length) for c in conversations]
            return score_prepared(self._model, items, pad_id(self._tokenizer), self.batch_size, self.device, bar)

    def score_one_by_one(self, trajectories: Sequence[Trajectory], tasks: dict[str, Task] | None = None) -> list[float]:
        """The unbatched baseline (benchmarks/score.py compares against it)."""
        saved = self.batch_size
        self.batch_size = 1
        try:
            return self.score(trajectories, tasks)
        finally:
            self.batch_size = saved

    def _score_api(self, conversations: list[list[dict[str, Any]]], bar: Any) -> list[float]:
        def one(messages: list[dict[str, Any]]) -> float | None:
            result = self._api.score(messages)  # type: ignore[union-attr]
            bar.update(1)
            return result

        with ThreadPoolExecutor(max_workers=self.batch_size) as pool:
            results = list(pool.map(one, conversations))
        missing = sum(r is None for r in results)
        if missing:
            warnings.warn(f"{missing} verifier repl(ies) held no YES/NO label token; scored 0.5", stacklevel=2)
        return [0.5 if r is None else r for r in results]

    def close(self) -> None:
        self._model = self._tokenizer = None
