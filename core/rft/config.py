"""Everything that defines an RFT loop, in one serialisable object (written to ``rft.json``)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SwegymError
from ..orchestration.config import SamplingSettings, SandboxSettings
from ..redaction import redact

TRAIN_FROM = ("base", "previous")


@dataclass
class RFTConfig(SamplingSettings, SandboxSettings):
    """One RFT loop.

    ``model`` is the base model (a local HF directory): what training starts from and, unless
    ``first_policy`` names another policy (a teacher, or ``replay`` of scripted solutions), what
    iteration 0 samples with. Later iterations sample with the newest checkpoint.

    ``train_from="base"`` retrains the base model on everything resolved so far each iteration
    (SWE-Gym's recipe: the data accumulates, the starting point does not drift); ``"previous"``
    continues from the last checkpoint instead.
    """

    model: str
    work_dir: str
    iterations: int = 1
    scaffold: str = "openhands"
    scaffold_options: dict[str, Any] = field(default_factory=dict)
    policy_options: dict[str, Any] = field(default_factory=dict)
    first_policy: str | None = None
    first_policy_options: dict[str, Any] = field(default_factory=dict)
    trainer: str = "torchtune-full"
    train_config: dict[str, Any] = field(default_factory=dict)
    train_from: str = "base"
    train_last: bool = True
    sft_format: str | None = None
    max_per_task: int | None = None
    seed_runs: list[str] = field(default_factory=list)
    api_base: str | None = None
    serve_cmd: str | None = None
    serve_timeout: float = 900.0
    executor: str = "local"
    executor_options: dict[str, Any] = field(default_factory=dict)
    #: The policy that samples a checkpoint in-process, and the one that samples it through the
    #: model server (``api_base``); defaults, not branches: any registered policy with these options works.
    local_policy: str = "hf"
    server_policy: str = "litellm"

    @property
    def format(self) -> str:
        """The SFT export format: given, or the one the scaffold's plugin names (``sft_format`` hook)."""
        if self.sft_format:
            return self.sft_format
        from ..plugins import get_registry

        return get_registry().pm.hook.sft_format(scaffold=self.scaffold) or "openhands-text"

    def validate(self) -> None:
        """Fail before any work starts, saying which setting is wrong and how to fix it."""
        if self.iterations < 1:
            raise SwegymError(f"rft: iterations must be at least 1, got {self.iterations}")
        if self.samples < 1:
            raise SwegymError(f"rft: samples must be at least 1, got {self.samples}")
        if self.train_from not in TRAIN_FROM:
            raise SwegymError(f"rft: train_from must be one of {', '.join(TRAIN_FROM)}, got {self.train_from!r}")
        if not Path(self.model).expanduser().is_dir():
            raise SwegymError(f"rft: --model {self.model} is not a directory; pass a local Hugging Face model folder "
                              "(the model to fine-tune)")
        if self.api_base and not self.serve_cmd:
            raise SwegymError("rft: --api-base needs --serve-cmd, a command that serves {model} under {name} on "
                              "{port}, so each iteration's checkpoint can be served, e.g. "
                              "--serve-cmd 'vllm serve {model} --served-model-name {name} --port {port}'")
        if self.serve_cmd and not self.api_base:
            raise SwegymError("rft: --serve-cmd needs --api-base, the URL the served model answers on "
                              "(e.g. http://127.0.0.1:8000/v1)")
        for run in self.seed_runs:
            p = Path(run)
            if not (p.is_file() or (p / "trajectories.jsonl").is_file()):
                raise SwegymError(f"rft: --seed-run {run} is neither a run directory (with trajectories.jsonl) "
                                  "nor a .jsonl file of trajectories")

    def public(self) -> dict[str, Any]:
        """The config without secrets: what ``rft.json`` records."""
        return redact(dataclasses.asdict(self))
