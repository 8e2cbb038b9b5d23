"""The optional config file: one section per command, keys spelled like the flags.

    # swegym.yaml
    run:
      scaffold: openhands
      model: openai/gpt-4o
      workers: 8
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import DataError


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML, TOML or JSON file into click's ``default_map`` shape."""
    path = Path(path)
    if not path.exists():
        raise DataError("config file not found", path=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        raise DataError(f"could not parse config file: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise DataError("config file must map command names to option tables", path=str(path))
    return {_key(k): _normalise(v) for k, v in data.items()}


def _key(name: str) -> str:
    return str(name).replace("-", "_")


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {_key(k): _normalise(v) for k, v in value.items()}
    return value
