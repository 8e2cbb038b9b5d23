"""swegym plugin: the Docker runtime (sandboxes, task images, cleanup).

Light on purpose: the docker SDK and the runtime modules load only when used.
"""
from __future__ import annotations

from typing import Any

from swegym import hookimpl


def _docker_runtime(**options: Any):
    """Sandboxes in Docker containers (local, tcp:// or ssh:// daemons), published or built images."""
    from .runtime import DockerRuntime

    return DockerRuntime(**options)


_docker_runtime.__doc__ = "Sandboxes in Docker containers (local or remote daemon); builds task images in layers."


@hookimpl
def register_runtimes(register):
    register("docker", _docker_runtime,
             description="Sandboxes in Docker containers (local or remote daemon); builds task images in layers.")


@hookimpl
def register_commands(cli):
    from .cli import cleanup_cmd, images_group

    cli.add_command(images_group)
    cli.add_command(cleanup_cmd)
