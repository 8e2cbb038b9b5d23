"""swegym plugin: moatless (work in progress)."""
