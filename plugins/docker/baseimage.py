"""Offline Debian base images ``swegym/base:<suite>``: debootstrap a minimal root file system and
import it into the engine (no registry needed; Debian's package mirror is the only network used).

``scripts/build-base-image.sh`` does the same from a shell; the image builder calls
:func:`ensure_base_image` when a spec's Python needs a suite whose image is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from swegym.errors import InfrastructureError

#: What debootstrap puts in (kept equal to scripts/build-base-image.sh).
DEBOOTSTRAP_INCLUDE = ("python3", "python3-venv", "python3-pip", "git", "patch", "procps", "ca-certificates")
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def image_name(suite: str, repository: str = "swegym/base") -> str:
    return f"{repository}:{suite}"


def ensure_base_image(client: Any, suite: str, log: Callable[[str], None] | None = None,
                      repository: str = "swegym/base") -> str:
    """Return ``<repository>:<suite>``, building it with debootstrap + import when it is missing."""
    import docker

    log = log or (lambda msg: print(msg, file=sys.stderr))
    with _guard:
        lock = _locks.setdefault(name := image_name(suite, repository), threading.Lock())
    with lock:
        try:
            client.images.get(name)
            return name
        except docker.errors.ImageNotFound:
            pass
        debootstrap = shutil.which("debootstrap") or _install_debootstrap()
        root = Path(tempfile.mkdtemp(prefix=f"swegym-rootfs-{suite}-"))
        tar_path = root.with_suffix(".tar")
        try:
            log(f"[swegym] {name} is missing: debootstrap {suite} (a few minutes, once)")
            proc = subprocess.run([debootstrap, "--variant=minbase", f"--include={','.join(DEBOOTSTRAP_INCLUDE)}",
                                   suite, str(root)], capture_output=True, text=True)
            if proc.returncode:
                raise InfrastructureError(f"debootstrap {suite} failed (needs root and Debian's package mirror): "
                                          f"{(proc.stdout + proc.stderr)[-600:]}", cause="debootstrap failed")
            subprocess.run(["tar", "-C", str(root), "-cf", str(tar_path), "."], check=True)
            client.api.import_image_from_file(str(tar_path), repository=repository, tag=suite)
            log(f"[swegym] built {name}")
            return name
        finally:
            shutil.rmtree(root, ignore_errors=True)
            tar_path.unlink(missing_ok=True)


def _install_debootstrap() -> str:
    if os.geteuid() != 0:
        raise InfrastructureError("debootstrap is not installed and this is not root; build the base image with "
                                  "scripts/build-base-image.sh SUITE as root, or pass --base-image",
                                  cause="debootstrap missing")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "debootstrap"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode:
            raise InfrastructureError(f"installing debootstrap failed: {proc.stderr[-400:]}", cause="apt-get failed")
    path = shutil.which("debootstrap")
    if not path:
        raise InfrastructureError("debootstrap not found after installing it", cause="debootstrap missing")
    return path


if __name__ == "__main__":  # python -m swegym_docker.baseimage SUITE
    import docker as _docker

    print(ensure_base_image(_docker.from_env(timeout=600), sys.argv[1] if len(sys.argv) > 1 else "bookworm"))
