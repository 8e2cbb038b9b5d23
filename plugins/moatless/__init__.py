"""swegym plugin: the MoatlessTools scaffold (v0.0.2 state machine) and its code index.

Kept light: the scaffold, index and embedders are imported only when a scaffold is created.
"""
from __future__ import annotations

from swegym import hookimpl

from .options import MoatlessOptions


def create_scaffold(**options):
    """MoatlessTools v0.0.2: search → identify → decide → plan ⇄ (clarify →) edit."""
    from .scaffold import MoatlessScaffold

    return MoatlessScaffold(**MoatlessOptions.from_dict(options).kwargs())


@hookimpl
def register_scaffolds(register):
    register("moatless", create_scaffold, options=MoatlessOptions,
             description="MoatlessTools v0.0.2 state machine with a span code index (search, identify, plan, edit).")


@hookimpl
def sft_format(scaffold):
    """Moatless trajectories train as tool calls, one per transition."""
    return "moatless-calls" if scaffold == "moatless" else None
