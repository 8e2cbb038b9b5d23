"""Container labels and removal: nothing a run starts outlives it.

Every sandbox container carries ``swegym.run_id``, ``swegym.owner_pid``, ``swegym.owner_host`` and
``swegym.owner_start`` (the owner's process start time, so a recycled pid is not mistaken for a
live owner). Live containers are removed on ``close()``, at interpreter exit (normal exit and
Ctrl-C) and on SIGTERM; a process killed with SIGKILL cannot clean up, which is what
``swegym cleanup`` is for: it removes labelled containers whose owner process is gone.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable

LABEL_RUN = "swegym.run_id"
LABEL_PID = "swegym.owner_pid"
LABEL_HOST = "swegym.owner_host"
LABEL_START = "swegym.owner_start"
LABEL_KIND = "swegym.kind"
LABEL_INSTANCE = "swegym.instance_id"


def process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot), '' when unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            rest = fh.read().rsplit(b")", 1)[1].split()
        return rest[19].decode()
    except (OSError, IndexError):
        return ""


def owner_labels(run_id: str) -> dict[str, str]:
    pid = os.getpid()
    return {
        LABEL_RUN: run_id,
        LABEL_PID: str(pid),
        LABEL_HOST: socket.gethostname(),
        LABEL_START: process_start(pid),
    }


def owner_alive(labels: dict[str, str]) -> bool | None:
    """True/False for containers owned on this host; None when the owner is on another host."""
    if labels.get(LABEL_HOST) != socket.gethostname():
        return None
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    start = process_start(pid)
    if not start:
        return False
    expected = labels.get(LABEL_START)
    return not expected or expected == start


# -- removal at exit -----------------------------------------------------------------------------

@dataclass
class _Live:
    remove: Callable[[], None]


_live: dict[str, _Live] = {}
_lock = threading.Lock()
_installed = False


def track(container_id: str, remove: Callable[[], None]) -> None:
    """Remember a container to remove at exit/SIGTERM unless it is released first."""
    install()
    with _lock:
        _live[container_id] = _Live(remove)


def untrack(container_id: str) -> None:
    with _lock:
        _live.pop(container_id, None)


def remove_container(api: Any, container_id: str) -> None:
    """Remove a sandbox container and its anonymous volumes; forget it. Never raises.

    ``v=True``: layer images committed from a build container declare VOLUME /root/.cache, so each
    sandbox gets an anonymous volume that would otherwise outlive it (a disk leak).
    """
    untrack(container_id)
    try:
        api.remove_container(container_id, force=True, v=True)
    except Exception:
        pass  # already gone; `swegym cleanup` catches anything left over


def remove_all() -> None:
    with _lock:
        items = list(_live.items())
        _live.clear()
    for _cid, live in items:
        try:
            live.remove()
        except Exception:
            pass


def _on_sigterm(signum: int, frame: Any) -> None:
    remove_all()
    previous = _previous.get(signum)
    if callable(previous):
        previous(signum, frame)
        return
    raise SystemExit(128 + signum)


_previous: dict[int, Any] = {}


def install() -> None:
    """Register the exit and SIGTERM handlers (once; the SIGTERM one only from the main thread)."""
    global _installed
    if _installed:
        return
    if threading.current_thread() is not threading.main_thread():
        atexit.register(remove_all)  # signals can only be hooked from the main thread; try again later
        return
    _installed = True
    atexit.register(remove_all)
    try:
        current = signal.getsignal(signal.SIGTERM)
        if current in (signal.SIG_DFL, None) or callable(current):  # SIG_IGN is the owner's choice
            _previous[signal.SIGTERM] = current if callable(current) else None
            signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main interpreter
        pass


def cleanup(client: Any, *, run_id: str | None = None, everything: bool = False,
            dry_run: bool = False, dead_only: bool = False) -> list[dict[str, str]]:
    """Remove swegym containers whose owner process is gone (or all/one run's). Returns what it did.

    ``run_id`` alone removes the whole run; with ``dead_only`` only the containers of that run whose
    owner died (what a resumed run does before starting: its own live sandboxes stay).
    """
    filters = {"label": [f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN]}
    done = []
    for container in client.containers.list(all=True, filters=filters):
        labels = container.labels or {}
        alive = owner_alive(labels)
        if everything or (run_id and not dead_only):
            action = "remove"
        elif alive is None:
            action = "skip (owned on another host)"
        elif alive:
            action = "keep (owner running)"
        else:
            action = "remove"
        if action == "remove" and not dry_run:
            try:
                container.remove(force=True, v=True)  # with its anonymous volumes
            except Exception as exc:  # already gone
                if "No such container" not in str(exc) and "is already in progress" not in str(exc):
                    action = f"failed: {exc}"
        done.append({"id": container.id[:12], "name": container.name, "run_id": labels.get(LABEL_RUN, ""),
                     "owner": f"{labels.get(LABEL_HOST, '?')}:{labels.get(LABEL_PID, '?')}", "action": action})
    return done
