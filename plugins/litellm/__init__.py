"""swegym plugin: litellm (work in progress)."""
