"""The rollout record: what one rollout produced, with one owner per part, and its row format.

Each component serializes its own part and the parts are merged at the end (mini-swe-agent's
``recursive_merge(agent.serialize(), model.serialize(), env.serialize())``), so no writer can
overwrite another's field:

- the scaffold owns ``trajectory.metadata["scaffold"]`` (iterations, usage, its own timings such
  as ``policy_s``/``tools_s``, transitions, ...);
- orchestration owns ``trajectory.metadata["rollout"]`` (sample index, repo, policy, sampling,
  seed, the rollout's timings, infrastructure attempts; the executor's ``placement``);
- the harness owns the evaluation (:class:`~swegym.types.EvalResult`);
- ``stop_reason``, ``model``, ``scaffold`` and ``instance_id`` live once, on the trajectory.

A row of ``trajectories.jsonl`` is ``Trajectory.to_dict()`` plus ``version`` (:data:`ROW_VERSION`)
and the evaluation. :func:`upgrade_row` reads rows written before the version field (one flat
metadata dict, orchestration's timings over the scaffold's).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..types import EvalResult, EvalStatus, Trajectory

#: The shape of a row in trajectories.jsonl; rows without a ``version`` are version 1.
ROW_VERSION = 2
#: Fields the trajectory itself carries: never repeated inside metadata.
TOP_LEVEL = ("instance_id", "scaffold", "model", "stop_reason")
#: What orchestration wrote into the flat metadata of a version-1 row.
V1_ROLLOUT_KEYS = ("repo", "sample_index", "policy", "sampling", "seed", "timings", "infrastructure_attempts")


class RolloutKey(NamedTuple):
    instance_id: str
    sample_index: int


def recursive_merge(*parts: dict[str, Any]) -> dict[str, Any]:
    """Merge dicts left to right, nested dicts key by key (later parts win on plain values)."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = recursive_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def scaffold_part(metadata: dict[str, Any]) -> dict[str, Any]:
    """The scaffold's part of ``metadata``: ``metadata["scaffold"]``, or a flat dict of a scaffold
    that predates the record (everything but the fields the trajectory carries)."""
    part = metadata.get("scaffold")
    if isinstance(part, dict):
        return part
    return {k: v for k, v in metadata.items() if k not in TOP_LEVEL and k != "rollout"}


def rollout_part(metadata: dict[str, Any]) -> dict[str, Any]:
    """Orchestration's part of ``metadata`` (the flat dict itself in a version-1 row)."""
    part = metadata.get("rollout")
    return part if isinstance(part, dict) else metadata


def upgrade_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of any known version → the current shape (a copy; current rows come back as they are)."""
    if not isinstance(row, dict) or int(row.get("version") or 1) >= ROW_VERSION:
        return row
    meta = row.get("metadata") or {}
    if not isinstance(meta, dict) or isinstance(meta.get("scaffold"), dict) or isinstance(meta.get("rollout"), dict):
        return {**row, "version": ROW_VERSION}
    rollout = {k: meta[k] for k in V1_ROLLOUT_KEYS if k in meta}
    scaffold = {k: v for k, v in meta.items() if k not in V1_ROLLOUT_KEYS and k not in TOP_LEVEL}
    new = {**row, "version": ROW_VERSION, "metadata": {"scaffold": scaffold, "rollout": rollout}}
    if not new.get("stop_reason") and meta.get("stop_reason"):
        new["stop_reason"] = meta["stop_reason"]
    return new


@dataclass
class RolloutRecord:
    """What :func:`~swegym.orchestration.execute_rollout` returns: one rollout, typed."""

    key: RolloutKey
    trajectory: Trajectory
    #: None when the run does not evaluate.
    evaluation: EvalResult | None = None
    #: Orchestration's phases (image_s, sandbox_s, agent_s, eval_s, total_s); the scaffold's own
    #: timings stay in ``trajectory.metadata["scaffold"]["timings"]``.
    timings: dict[str, float] = field(default_factory=dict)
    #: Causes of infrastructure failures that were retried (or ended the rollout).
    attempts: list[str] = field(default_factory=list)
    repo: str = ""
    policy: str = ""
    sampling: dict[str, Any] | None = None
    #: Where the executor ran the rollout (the ray executor: node, worker, pid, start/end times);
    #: the executor alone sets it.
    placement: dict[str, Any] | None = None

    @property
    def status(self) -> EvalStatus | None:
        return None if self.evaluation is None else self.evaluation.status

    @property
    def resolved(self) -> bool:
        return self.evaluation is not None and self.evaluation.resolved

    def rollout_metadata(self) -> dict[str, Any]:
        """Orchestration's part of the trajectory metadata."""
        part: dict[str, Any] = {"sample_index": self.key.sample_index, "repo": self.repo, "policy": self.policy}
        if self.sampling is not None:
            part["sampling"] = dict(self.sampling)
            part["seed"] = self.sampling.get("seed")
        part["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        if self.attempts:
            part["infrastructure_attempts"] = list(self.attempts)
        if self.placement:
            part["placement"] = dict(self.placement)
        return part

    def metadata(self) -> dict[str, Any]:
        """The merged metadata: the scaffold's part and orchestration's, each written by its owner only."""
        return recursive_merge({"scaffold": scaffold_part(self.trajectory.metadata)},
                               {"rollout": self.rollout_metadata()})

    def to_row(self, include_log: bool = True) -> dict[str, Any]:
        """The row for trajectories.jsonl (the evaluation log is split off by the driver)."""
        traj = self.trajectory
        row = Trajectory(instance_id=traj.instance_id, messages=traj.messages, tools=traj.tools, patch=traj.patch,
                         run_id=traj.run_id, scaffold=traj.scaffold, model=traj.model,
                         stop_reason=traj.stop_reason, metadata=self.metadata()).to_dict()
        row["version"] = ROW_VERSION
        if self.evaluation is not None:
            row["evaluation"] = self.evaluation.to_dict(include_log=include_log)
            row["resolved"] = self.evaluation.resolved
            row["status"] = self.evaluation.status
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "RolloutRecord":
        """Read a row of any version back."""
        row = upgrade_row(row)
        traj = Trajectory.from_dict(row)
        rollout = dict(traj.metadata.get("rollout") or {})
        evaluation = EvalResult.from_dict(row["evaluation"]) if row.get("evaluation") else None
        traj.evaluation = None
        return cls(key=RolloutKey(traj.instance_id, int(rollout.get("sample_index") or 0)), trajectory=traj,
                   evaluation=evaluation, timings=dict(rollout.get("timings") or {}),
                   attempts=list(rollout.get("infrastructure_attempts") or []), repo=rollout.get("repo") or "",
                   policy=rollout.get("policy") or "", sampling=rollout.get("sampling"),
                   placement=rollout.get("placement"))
