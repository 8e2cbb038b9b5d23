"""swegym plugin: the Docker runtime (sandboxes, task images, cleanup) and its flags.

Light on purpose: the docker SDK and the runtime modules load only when used.
"""
from __future__ import annotations

from typing import Any

import click

from swegym import hookimpl

from .options import DockerOptions


def create_runtime(**options: Any):
    """Sandboxes in Docker containers (local, tcp:// or ssh:// daemons), published or built images."""
    from .runtime import DockerRuntime

    return DockerRuntime(**DockerOptions.from_dict(options).kwargs())


@hookimpl
def register_runtimes(register):
    register("docker", create_runtime, options=DockerOptions,
             description="Sandboxes in Docker containers (local or remote daemon); builds task images in layers.")


@hookimpl
def add_cli_options(group):
    """The docker runtime's flags, on every command that opens sandboxes."""
    def add(*decls: str, key: str, **kw: Any) -> None:
        group.add(*decls, kind="runtime", component="docker", key=key, **kw)

    add("--docker-host", key="base_url", envvar="DOCKER_HOST",
        help="Daemon URL: unix://…, tcp://host:2375, ssh://user@host (default: DOCKER_HOST or local socket).")
    add("--tls-verify/--no-tls-verify", key="tls_verify", help="Verify the daemon's TLS certificate.")
    add("--tls-ca-cert", key="tls_ca_cert", type=click.Path(exists=True, dir_okay=False), help="CA certificate for TLS.")
    add("--tls-client-cert", key="tls_client_cert", type=click.Path(exists=True, dir_okay=False),
        help="Client certificate for TLS.")
    add("--tls-client-key", key="tls_client_key", type=click.Path(exists=True, dir_okay=False), help="Client key for TLS.")
    add("--base-image", key="base_image",
        help="FROM image of the base layer (default: swegym/base:<Debian suite nearest the spec's Python>, built when missing).")
    add("--image-namespace", key="image_namespace",
        help="Namespace of published per-instance images (default xingyaoww for SWE-Gym repos, swebench otherwise).")
    add("--python-source", key="python_source", type=click.Choice(["auto", "debian", "uv"]),
        help="Where the spec's Python comes from: the nearest Debian suite, a uv-managed exact version, "
             "or auto (exact when a suite has it, else uv, else nearest suite). Default auto.")
    add("--installer", key="installer", type=click.Choice(["uv", "pip"]),
        help="Package installer inside image builds (default uv, pip as its fallback).")
    add("--mem-limit", key="mem_limit", help="Memory limit per sandbox container (default 4g).")
    add("--cpus", key="cpus", type=float, help="CPUs per sandbox container (default: all).")
    add("--pids-limit", key="pids_limit", type=int, help="Process limit per sandbox container (default 1024).")
    add("--offline-network", key="offline_network", type=click.Choice(["none", "isolated"]),
        help="How containers without network are cut off: none (loopback only; connections fail at once; "
             "default) or isolated (an internal bridge with no route out: connections time out as on a "
             "firewalled host, as e.g. requests' TestTimeout expects).")


@hookimpl
def register_commands(cli):
    from .cli import cleanup_cmd, images_group

    cli.add_command(images_group)
    cli.add_command(cleanup_cmd)
