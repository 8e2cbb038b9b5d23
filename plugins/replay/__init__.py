"""swegym plugin: replay (work in progress)."""
