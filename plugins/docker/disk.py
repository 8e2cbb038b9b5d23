"""A disk budget per sandbox: a writable-layer quota where the storage driver has one, else a watchdog.

Docker can cap a container's writable layer (``--storage-opt size=``) only with overlay2 on xfs
mounted with ``pquota`` (or devicemapper/btrfs/zfs). Elsewhere (overlay2 on ext4, the common case)
a watchdog thread polls each live sandbox's writable-layer size (``SizeRw``) and kills the
container that passes its budget; the sandbox then reports :class:`~swegym.errors.SandboxKilled`
with reason ``disk_limit`` (the agent's outcome, since its commands wrote the data). Overshoot is
bounded by how much the agent can write between two polls.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

QUOTA_DRIVERS = {"btrfs", "zfs", "devicemapper"}


def quota_supported(client: Any) -> bool:
    """Whether ``--storage-opt size=`` can work on this daemon (tried for real on first use)."""
    try:
        info = client.info()
    except Exception:  # noqa: BLE001 - unknown: the watchdog will do
        return False
    driver = info.get("Driver", "")
    if driver in QUOTA_DRIVERS:
        return True
    status = dict((k, v) for k, v in (info.get("DriverStatus") or []) if isinstance(k, str))
    return driver == "overlay2" and status.get("Backing Filesystem") == "xfs"


class DiskWatchdog:
    """Polls the writable-layer size of watched sandboxes every ``interval`` seconds."""

    def __init__(self, api: Any, limit: int, interval: float = 10.0) -> None:
        self.api, self.limit, self.interval = api, limit, interval
        self._watched: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, sandbox: Any) -> None:
        with self._lock:
            self._watched.add(sandbox)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="swegym-disk-watchdog", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                boxes = [b for b in self._watched if not getattr(b, "_closed", True)]
            for box in boxes:
                self.check(box)

    def check(self, box: Any) -> None:
        try:
            rows = self.api.containers(all=True, size=True, filters={"id": box.container.id})
            size = int((rows[0] if rows else {}).get("SizeRw") or 0)
        except Exception:  # noqa: BLE001 - gone or daemon busy: the sandbox reports its own state
            return
        if size > self.limit and not getattr(box, "disk_exceeded", None):
            box.disk_exceeded = size
            try:
                self.api.kill(box.container.id)
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        self._stop.set()
