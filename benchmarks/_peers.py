"""The tools users would pick instead of swegym, each in its own virtualenv, for side-by-side runs.

Why a virtualenv per peer: a peer's dependencies (its litellm, pydantic, openai pins) must not
change swegym's environment, and each figure must say which version produced it. Virtualenvs
live under ``~/.cache/swegym-bench/peers/<name>-<version>`` (``SWEGYM_BENCH_PEERS`` moves them)
and are reused across runs. Peer code runs in a subprocess of its virtualenv: a driver script,
written by the benchmark, prints one ``@@swegym-result@@ {json}`` line that :func:`run` returns.

``host_site=True`` (TRL) adds swegym's site-packages behind the peer's own, so that torch,
transformers and datasets are the very same builds as swegym's: only the trainer differs.
"""
from __future__ import annotations

import fcntl
import json
import os
import site
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: The versions measured (latest on the package index when the comparison was written).
PEERS = {"mini-swe-agent": "2.4.6", "swe-rex": "1.4.0", "trl": "1.16.0"}
RESULT_TAG = "@@swegym-result@@ "


def root() -> Path:
    return Path(os.environ.get("SWEGYM_BENCH_PEERS", "~/.cache/swegym-bench/peers")).expanduser()


def _works(python: Path, name: str, version: str) -> bool:
    if not python.exists():
        return False
    probe = f"from importlib.metadata import version; assert version({name!r}) == {version!r}"
    return subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0


def venv(name: str, version: str | None = None, *, host_site: bool = False) -> Path:
    """The python of ``name==version``'s virtualenv, created on first use (needs the package index)."""
    version = version or PEERS[name]
    home = root() / f"{name}-{version}"
    python = home / "bin" / "python"
    root().mkdir(parents=True, exist_ok=True)
    with open(root() / f".{name}.lock", "w") as lock:  # two benchmarks at once build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if host_site:
            _link_host_site(home)
        if _works(python, name, version):
            return python
        print(f"[peers] creating {home} ({name}=={version}) ...", file=sys.stderr)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(home)], check=True)
        if host_site:
            _link_host_site(home)
        # host_site: the dependencies come from swegym's environment; install the peer alone
        extra = ["--no-deps"] if host_site else []
        subprocess.run([str(python), "-m", "pip", "install", "-q", *extra, f"{name}=={version}"], check=True)
        if not _works(python, name, version):
            raise SystemExit(f"[peers] {name}=={version} did not install into {home}")
        return python


def _link_host_site(home: Path) -> None:
    if not (home / "lib").exists():
        return
    for lib in (home / "lib").glob("python3*/site-packages"):
        (lib / "_swegym_host.pth").write_text("\n".join(site.getsitepackages()) + "\n")


def run(name: str, driver: str, args: list[str], *, host_site: bool = False, timeout: float = 1800,
        env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``driver`` (python source) in ``name``'s virtualenv with ``args``; return its result JSON."""
    python = venv(name, host_site=host_site)
    with tempfile.NamedTemporaryFile("w", suffix=f"_{name}_driver.py", delete=False) as fh:
        fh.write(driver)
    try:
        proc = subprocess.run([str(python), fh.name, *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    finally:
        os.unlink(fh.name)
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_TAG)]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit(f"[peers] the {name} driver failed (exit {proc.returncode})")
    return json.loads(lines[-1][len(RESULT_TAG):])


#: Shared by drivers: RSS of a process and all its descendants (docker CLI children included).
TREE_RSS = '''
def tree_rss_mb(pid=None):
    import os
    total, todo = 0, [pid or os.getpid()]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, StopIteration):
            pass
    return total / 1024
'''
