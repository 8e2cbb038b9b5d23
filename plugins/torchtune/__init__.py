"""swegym plugin: torchtune (work in progress)."""
