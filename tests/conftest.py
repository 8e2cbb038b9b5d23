"""Shared fixtures. Docker and shared-data tests skip on a user's machine without them and fail in CI."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SWEGYM_SHARED_DATA", ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REQUIRE_DOCKER = os.environ.get("SWEGYM_REQUIRE_DOCKER") == "1"
BASE_IMAGE = os.environ.get("SWEGYM_BASE_IMAGE", "swegym/base:bookworm")


def _missing(what: str, required: bool) -> None:
    if required:
        pytest.fail(f"{what} is required here (CI) but missing", pytrace=False)
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real reference data); skip when absent, fail in CI."""
    if not SHARED_DATA.is_dir():
        _missing(f"shared data folder {SHARED_DATA}", IN_CI)
    return SHARED_DATA


@pytest.fixture(scope="session")
def docker_client():
    """A docker SDK client to a running engine; skip without one, fail when SWEGYM_REQUIRE_DOCKER=1."""
    try:
        import docker

        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no engine here"
        _missing(f"a Docker engine ({exc})", REQUIRE_DOCKER)
    return client


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    """The offline base image (scripts/build-base-image.sh)."""
    try:
        docker_client.images.get(BASE_IMAGE)
    except Exception:
        _missing(f"base image {BASE_IMAGE} (run scripts/build-base-image.sh)", REQUIRE_DOCKER)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def demo_tasks():
    from swegym import load_tasks

    return load_tasks("demo")
