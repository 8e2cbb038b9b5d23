"""swegym plugin: orm (work in progress)."""
