"""swegym plugin: docker (work in progress)."""
