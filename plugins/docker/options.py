"""Options of the runtime docker (``from_dict`` refuses unknown keys by name). Defaults live in
the constructor; a field left unset here is not passed, so they apply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from swegym.options import Options


@dataclass
class DockerOptions(Options):
    """What ``--runtime-opt KEY=VALUE``, config files and this plugin's flags may set."""

    component: ClassVar[str] = "runtime docker"

    base_url: str | None = None
    tls_verify: bool | None = None
    tls_ca_cert: str | None = None
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    base_image: str | None = None
    image_namespace: str | None = None
    image_prefix: str | None = None
    repo_sources: dict[str, Any] | None = None
    env_spec_file: str | Any | None = None
    mem_limit: str | int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    run_id: str | None = None
    build_if_missing: bool | None = None
    use_published: bool | None = None
    pull: bool | None = None
    network: bool | None = None
    pool_size: int | None = None
    client: Any | None = None
    disk_limit: str | int | None = None
    disk_poll_s: float | None = None
    python_source: str | None = None
    installer: str | None = None
    cache_volume: str | None = None
    build_base: bool | None = None
    offline_network: str | None = None
