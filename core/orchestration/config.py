"""Everything that defines a run, in one serialisable object (it is the manifest's core)."""
from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..types import SamplingParams

_SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|authorization)", re.I)


@dataclass
class RunConfig:
    """A run: which scaffold drives which policy in which runtime, how many samples, how graded.

    ``policy_options`` may hold secrets (``api_key``); :meth:`public` drops them, and only the
    public form is ever written to disk.
    """

    scaffold: str = "moatless"
    scaffold_options: dict[str, Any] = field(default_factory=dict)
    policy: str = "hf"
    policy_options: dict[str, Any] = field(default_factory=dict)
    runtime: str = "docker"
    runtime_options: dict[str, Any] = field(default_factory=dict)
    samples: int = 1
    temperature: float = 0.0
    first_greedy: bool = True
    top_p: float = 1.0
    max_tokens: int | None = None
    seed: int = 0
    evaluate: bool = True
    eval_timeout: float = 1800.0
    infra_retries: int = 2
    retry_backoff_s: float = 2.0
    network: bool = False

    def sampling_for(self, instance_id: str, sample_index: int) -> SamplingParams:
        """Per-sample sampling: optionally greedy for sample 0, a stable per-rollout seed."""
        temperature = 0.0 if (sample_index == 0 and self.first_greedy and self.samples > 1) else self.temperature
        digest = hashlib.sha256(f"{self.seed}:{instance_id}:{sample_index}".encode()).hexdigest()
        return SamplingParams(temperature=temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                              seed=int(digest[:8], 16))

    def public(self) -> dict[str, Any]:
        """The config without secrets: what the manifest records."""
        return redact(dataclasses.asdict(self))


def redact(value: Any) -> Any:
    """Drop every secret-looking key, recursively."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if _SECRET_KEY.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
