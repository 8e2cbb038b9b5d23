"""No container outlives its run: removed on exit, Ctrl-C and SIGTERM; `swegym cleanup` after SIGKILL."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[3]
SWEGYM = str(Path(sys.executable).with_name("swegym"))

# The child gets Ctrl-C as a terminal would deliver it, even when the test run itself was started
# in the background by a shell that ignores SIGINT (an ignored signal is inherited by every child).
CHILD = """
import signal, sys, time, swegym
signal.signal(signal.SIGINT, signal.default_int_handler)
task = [t for t in swegym.load_tasks("demo") if t.instance_id == "swegym-demo__calc-1"][0]
rt = swegym.create("runtime", "docker", run_id=sys.argv[1])
sb = rt.open(task)
print(sb.container.id, flush=True)
time.sleep(600)
"""


def _start_child(run_id: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, run_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        raise AssertionError(f"child did not open a sandbox: {proc.stderr.read()[-2000:]}")
    return proc, line


def _labelled(client, run_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"swegym.run_id={run_id}"})


def _wait_gone(client, run_id: str, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _labelled(client, run_id):
            return True
        time.sleep(0.2)
    return False


def test_cleanup_after_sigkill(docker_client, base_image, demo_tasks):
    run_id = f"test-kill-{uuid.uuid4().hex[:8]}"
    proc, cid = _start_child(run_id)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert [c.id for c in _labelled(docker_client, run_id)] == [cid]  # nobody could clean up
    out = subprocess.run([SWEGYM, "cleanup"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert cid[:12] in out.stdout and "remove" in out.stdout
    assert not _labelled(docker_client, run_id)


def test_resumed_run_removes_only_its_dead_predecessors_sandboxes(docker_client, base_image, demo_tasks):
    import swegym

    run_id = f"test-resume-{uuid.uuid4().hex[:8]}"
    proc, dead_cid = _start_child(run_id)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    task = next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")
    rt = swegym.create("runtime", "docker", run_id=run_id)
    with rt.open(task) as mine:
        assert rt.cleanup(run_id) == 1
        assert [c.id for c in _labelled(docker_client, run_id)] == [mine.container.id]
        assert mine.run("echo still here").output == "still here\n"
    assert not _labelled(docker_client, run_id)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_container_removed_on_sigterm_and_ctrl_c(docker_client, base_image, demo_tasks, sig):
    run_id = f"test-sig-{uuid.uuid4().hex[:8]}"
    proc, cid = _start_child(run_id)
    assert _labelled(docker_client, run_id)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    assert _wait_gone(docker_client, run_id), f"container {cid[:12]} survived {sig.name}"


def test_cleanup_keeps_containers_of_live_owners(docker_client, base_image, demo_tasks):
    import swegym

    task = next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")
    run_id = f"test-live-{uuid.uuid4().hex[:8]}"
    rt = swegym.create("runtime", "docker", run_id=run_id)
    with rt.open(task) as sb:
        out = subprocess.run([SWEGYM, "cleanup", "--dry-run"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0
        line = next(l for l in out.stdout.splitlines() if l.startswith(sb.container.id[:12]))
        assert "keep (owner running)" in line
        assert _labelled(docker_client, run_id)
    assert not _labelled(docker_client, run_id)


def test_closed_sandbox_leaves_no_volume_behind(docker_client, base_image, demo_tasks):
    """Layer images declare VOLUME /root/.cache (docker commit of a build container that mounted the
    package cache there): every sandbox gets an anonymous volume, which must go with the sandbox."""
    import swegym

    task = next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")
    rt = swegym.create("runtime", "docker", run_id=f"test-volumes-{uuid.uuid4().hex[:8]}")
    try:
        with rt.open(task) as box:
            box.run("echo cached > /root/.cache/x")
            mounts = docker_client.api.inspect_container(box.container.id)["Mounts"]
            anonymous = [m["Name"] for m in mounts if m.get("Type") == "volume" and len(m.get("Name", "")) == 64]
    finally:
        rt.close()
    assert anonymous, "the layer image no longer declares a volume: this test checks nothing"
    left = {v.name for v in docker_client.volumes.list()}
    assert not left & set(anonymous), "the sandbox's anonymous volume outlived it"
