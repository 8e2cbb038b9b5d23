"""swegym plugin: the Moatless scaffold of SWE-Gym (the SWE-Gym fork of MoatlessTools v0.0.2) and its code index.

Kept light: the scaffold, index and embedders are imported only when a scaffold is created.
"""
from __future__ import annotations

from swegym import hookimpl

from .options import MoatlessOptions


def create_scaffold(**options):
    """The SWE-Gym fork of MoatlessTools v0.0.2: search → identify → decide → plan ⇄ (clarify →) edit.

    Options are plain keyword arguments: ``settings.MoatlessSettings`` fields (the fork's run
    settings by default) plus ``index``, ``embedder``, ``use_index_cache``, ``index_store_dir``
    and the shared ``max_steps`` / ``function_calling`` words.
    """
    from .scaffold import MoatlessScaffold

    return MoatlessScaffold(**MoatlessOptions.from_dict(options).kwargs())


@hookimpl
def register_scaffolds(register):
    register("moatless", create_scaffold, options=MoatlessOptions,
             description="SWE-Gym's MoatlessTools fork (v0.0.2): search, identify, decide, plan, clarify, edit; "
                         "its prompts, formats, limits and code index.")


@hookimpl
def sft_format(scaffold):
    """Moatless trajectories train as the fork's per-visit calls."""
    return "moatless-calls" if scaffold == "moatless" else None
