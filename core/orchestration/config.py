"""Everything that defines a run, in one serialisable object (it is the manifest's core)."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..redaction import redact
from ..types import SamplingParams


@dataclass(kw_only=True)
class SamplingSettings:
    """How many rollouts per task and how they sample (shared by ``swegym run`` and ``swegym rft``)."""

    samples: int = 1
    temperature: float = 0.0
    first_greedy: bool = True
    top_p: float = 1.0
    max_tokens: int | None = None
    seed: int = 0


@dataclass(kw_only=True)
class SandboxSettings:
    """Where rollouts run and how they are graded (shared by ``swegym run`` and ``swegym rft``)."""

    runtime: str = "docker"
    runtime_options: dict[str, Any] = field(default_factory=dict)
    eval_timeout: float = 1800.0
    infra_retries: int = 2
    network: bool = False
    #: Wall-clock budget of one rollout's agent phase (model calls included); None: unbounded.
    rollout_timeout: float | None = 7200.0
    #: Retries one rollout may spend across all its layers together (the rollout itself, its
    #: model calls, its evaluation; see swegym.retry), so nested retry loops cannot multiply.
    #: Each layer's own limit (infra_retries, a policy's max_retries) still applies. None: no shared cap.
    retry_budget: int | None = 30


@dataclass(kw_only=True)
class RunConfig(SamplingSettings, SandboxSettings):
    """A run: which scaffold drives which policy in which runtime, how many samples, how graded.

    ``policy_options`` may hold secrets (``api_key``); :meth:`public` drops them, and only the
    public form is ever written to disk.
    """

    scaffold: str = "moatless"
    scaffold_options: dict[str, Any] = field(default_factory=dict)
    policy: str = "hf"
    policy_options: dict[str, Any] = field(default_factory=dict)
    evaluate: bool = True
    #: Grade patches touching test infrastructure (conftest.py, pytest settings) unresolved.
    strict_grading: bool = False
    retry_backoff_s: float = 2.0

    def sampling_for(self, instance_id: str, sample_index: int) -> SamplingParams:
        """Per-sample sampling: optionally greedy for sample 0, a stable per-rollout seed."""
        temperature = 0.0 if (sample_index == 0 and self.first_greedy and self.samples > 1) else self.temperature
        digest = hashlib.sha256(f"{self.seed}:{instance_id}:{sample_index}".encode()).hexdigest()
        return SamplingParams(temperature=temperature, top_p=self.top_p, max_tokens=self.max_tokens,
                              seed=int(digest[:8], 16))

    def public(self) -> dict[str, Any]:
        """The config without secrets: what the manifest records."""
        return redact(dataclasses.asdict(self))


def shared_settings(config: SamplingSettings | SandboxSettings) -> dict[str, Any]:
    """The sampling and sandbox settings ``config`` has, as keyword arguments (dicts copied)."""
    names = [f.name for cls in (SamplingSettings, SandboxSettings) if isinstance(config, cls)
             for f in dataclasses.fields(cls)]
    return {n: (dict(v) if isinstance(v := getattr(config, n), dict) else v) for n in names}
