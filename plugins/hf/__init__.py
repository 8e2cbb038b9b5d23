"""swegym plugin: hf (work in progress)."""
