"""swegym plugin: ray (work in progress)."""
