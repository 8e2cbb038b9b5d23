"""Refuse litellm 1.107.x before importing it.

Why: the 1.107.x releases of litellm were compromised, and their code runs on import. swegym's own
pin (``litellm>=1.106.2,<1.107``) keeps them out of a swegym install, but another package may
install litellm without that pin; so the installed version is read from its metadata (no import)
every time swegym is about to import litellm.
"""
from __future__ import annotations

from importlib import metadata

from swegym import SwegymError

COMPROMISED_SERIES = "1.107"
TESTED = "1.106.2"


def installed_litellm_version() -> str | None:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return None


def refuse_compromised_litellm() -> None:
    """Raise SwegymError when the installed litellm is a 1.107.x release (without importing it)."""
    version = installed_litellm_version()
    if version is not None and (version == COMPROMISED_SERIES or version.startswith(COMPROMISED_SERIES + ".")):
        raise SwegymError(
            f"litellm {version} is installed: the litellm 1.107.x releases were compromised and swegym will not "
            f"import them. Replace it now: pip install 'litellm=={TESTED}' (or `pip install -c constraints.txt "
            f"'swegym[litellm]'`), and check which package pulled it in (`pip show litellm`, "
            f"`pipdeptree -r -p litellm`)."
        )
