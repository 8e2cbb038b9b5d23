"""swegym plugin: openhands (work in progress)."""
