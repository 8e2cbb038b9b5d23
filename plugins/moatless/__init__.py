"""swegym plugin: the MoatlessTools scaffold (v0.0.2 state machine) and its code index.

Kept light: the scaffold, index and embedders are imported only when a scaffold is created.
"""
from __future__ import annotations

from swegym import hookimpl


def _create_scaffold(**options):
    """The SWE-Gym fork of MoatlessTools v0.0.2: search → identify → decide → plan ⇄ (clarify →) edit.

    Options are plain keyword arguments: ``settings.MoatlessSettings`` fields (the fork's run
    settings by default) plus ``index``, ``embedder``, ``use_index_cache`` and ``index_store_dir``.
    """
    from .scaffold import MoatlessScaffold

    return MoatlessScaffold(**options)


@hookimpl
def register_scaffolds(register):
    register("moatless", _create_scaffold,
             description="SWE-Gym's MoatlessTools fork (v0.0.2): search, identify, decide, plan, clarify, edit; "
                         "its prompts, formats, limits and code index.")
