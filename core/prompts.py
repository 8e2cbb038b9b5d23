"""Every prompt is a Jinja template under ``prompts/`` (installed as the data package ``swegym_prompts``).

``SWEGYM_PROMPTS_DIR`` points at a folder whose templates override the shipped ones by name,
so users can experiment with prompts without editing the package.
"""
from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2


@lru_cache(maxsize=4)
def _environment(override_dir: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override_dir:
        loaders.append(jinja2.FileSystemLoader(override_dir))
    # The top-level prompts/ folder is the data package `swegym_prompts` (see setup.py).
    loaders.append(jinja2.FileSystemLoader(str(resources.files("swegym_prompts"))))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def environment() -> jinja2.Environment:
    return _environment(os.environ.get("SWEGYM_PROMPTS_DIR") or None)


def render(template: str, **context: Any) -> str:
    """Render ``prompts/<template>`` (e.g. ``"openhands/system.j2"``) with ``context``."""
    return environment().get_template(template).render(**context)


def source(template: str) -> str:
    """The raw text of a template (for prompts that are fixed strings)."""
    env = environment()
    return env.loader.get_source(env, template)[0]  # type: ignore[union-attr]
