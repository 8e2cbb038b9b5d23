"""The sandbox session against a real Docker engine, reached both over the local socket and over TCP.

Every behaviour the agent and the harness rely on: cwd/env persistence, precise timeouts that kill
the whole command (background jobs too) and leave the shell usable, bounded output, files,
diff/reset, resource limits and network isolation.
"""
from __future__ import annotations

import os
import re
import shlex
import time
import tracemalloc

import pytest

import swegym
from swegym import CommandResult

TCP_DAEMON = "tcp://127.0.0.1:2375"
pytestmark = pytest.mark.docker


def _tcp_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 2375), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module", params=["local", "tcp", "ssh"])
def runtime(request, docker_client, base_image):
    if request.param == "ssh":
        # e.g. SWEGYM_TEST_SSH_HOST=ssh://root@127.0.0.1:2222 (key in ssh-agent, host in known_hosts,
        # sshd MaxSessions >= 20: every exec stream and pooled HTTP connection is one SSH channel)
        url = os.environ.get("SWEGYM_TEST_SSH_HOST")
        if not url:
            pytest.skip("set SWEGYM_TEST_SSH_HOST=ssh://user@host to run the suite over SSH")
        rt = swegym.create("runtime", "docker", base_url=url, mem_limit="512m", pids_limit=256,
                           run_id="test-runtime-ssh")
        yield rt
        rt.close()
        return
    if request.param == "tcp" and not _tcp_reachable():
        if os.environ.get("SWEGYM_REQUIRE_DOCKER") == "1":
            pytest.fail("the loopback TCP daemon (scripts/start-docker.sh) is required here", pytrace=False)
        pytest.skip("no Docker daemon on tcp://127.0.0.1:2375")
    url = TCP_DAEMON if request.param == "tcp" else None
    rt = swegym.create("runtime", "docker", base_url=url, mem_limit="512m", pids_limit=256,
                       run_id=f"test-runtime-{request.param}")
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def calc_task(demo_tasks):
    return next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")


@pytest.fixture(scope="module")
def sandbox(runtime, calc_task):
    sb = runtime.open(calc_task)
    yield sb
    sb.close()


def test_cwd_and_env_persist(sandbox):
    assert sandbox.run("cd /tmp && export SWEGYM_X=42 && Y=local").exit_code == 0
    r = sandbox.run("pwd; echo $SWEGYM_X $Y; bash -c 'echo child:$SWEGYM_X'")
    assert r.output.split() == ["/tmp", "42", "local", "child:42"]
    assert sandbox.run("cd /testbed").exit_code == 0


def test_exit_code_stderr_and_awkward_input(sandbox):
    r = sandbox.run("echo out; echo err >&2; exit_status() { return 3; }; exit_status")
    assert r.exit_code == 3 and r.output == "out\nerr\n" and not r.timed_out
    tricky = "printf '%s\\n' \"it's\" 'a \"quote\"' $'tab\\there' 'ünïcode' '$HOME not expanded'"
    r = sandbox.run(tricky)
    assert r.output.splitlines() == ["it's", 'a "quote"', "tab\there", "ünïcode", "$HOME not expanded"]
    # a syntax error or a command reading stdin must not desynchronise the shell
    assert sandbox.run("echo 'unterminated").exit_code != 0
    assert sandbox.run("cat").output == ""
    r = sandbox.run("cat <<'EOF'\nheredoc line\nEOF")
    assert r.output == "heredoc line\n"
    assert sandbox.run("echo still fine").output == "still fine\n"


def test_timeout_kills_sleep_and_shell_answers(sandbox):
    start = time.monotonic()
    r = sandbox.run("sleep 1000", timeout=1.5)
    elapsed = time.monotonic() - start
    assert r.timed_out and 1.4 <= elapsed < 4.0
    after = sandbox.run("echo alive; ps -eo args | grep -c '[s]leep 1000'")
    assert after.output.split() == ["alive", "0"] and not after.timed_out


def test_timeout_kills_background_jobs(sandbox):
    r = sandbox.run("yes > /dev/null & setsid sleep 999 & echo started; wait", timeout=1.5)
    assert r.timed_out and "started" in r.output
    time.sleep(0.2)
    ps = sandbox.run("ps -eo stat,args | grep -E '[y]es|[s]leep 999' | grep -v '^Z' || true")
    assert ps.output.strip() == "", ps.output
    assert sandbox.run("echo ok").output == "ok\n"


def test_builtin_loop_timeout_replaces_shell_keeping_cwd(sandbox):
    sandbox.run("cd /usr")
    r = sandbox.run("while :; do :; done", timeout=1)
    assert r.timed_out
    assert sandbox.run("pwd").output == "/usr\n"
    sandbox.run("cd /testbed")


def test_exit_starts_a_new_shell(sandbox):
    r = sandbox.run("exit 7")
    assert r.exit_code == 7
    assert sandbox.run("echo back").output == "back\n"


def test_huge_output_truncated_with_bounded_memory(sandbox):
    tracemalloc.start()
    try:
        start = time.monotonic()
        r = sandbox.run("head -c 200000000 /dev/zero | tr '\\0' 'a'; echo; echo END", timeout=120)
        elapsed = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.exit_code == 0 and r.truncated and not r.timed_out
    assert len(r.output) <= 30_000 + 100
    assert "characters of output omitted" in r.output
    assert r.output.startswith("aaaa") and r.output.endswith("a\nEND\n")
    assert peak < 16 * 1024 * 1024, f"host buffered {peak} bytes"
    assert elapsed < 60


def test_output_limit_parameter(sandbox):
    r = sandbox.run("seq 1 100000", output_limit=1000)
    assert r.truncated and r.output.startswith("1\n2\n") and r.output.endswith("99999\n100000\n")
    assert len(r.output) < 1200
    small = sandbox.run("seq 1 5", output_limit=1000)
    assert not small.truncated and small.output == "1\n2\n3\n4\n5\n"


def test_files_diff_and_reset(sandbox, calc_task):
    sandbox.write_file("/testbed/calc/stats.py", sandbox.read_file("/testbed/calc/stats.py") + "\n# touched\n")
    sandbox.write_file("/testbed/new/dir/notes.txt", "héllo\n")
    sandbox.run("printf '\\x00\\x01\\x02' > /testbed/blob.bin && git -C /testbed add calc")  # staged + binary
    assert sandbox.read_file("new/dir/notes.txt") == "héllo\n"
    diff = sandbox.diff()
    assert "+# touched" in diff and "b/new/dir/notes.txt" in diff and "+héllo" in diff
    assert "blob.bin" not in diff
    # the diff applies cleanly to a fresh checkout at base_commit
    sandbox.write_file("/tmp/agent.patch", diff)
    sandbox.reset()
    assert sandbox.diff() == ""
    assert sandbox.run("git -C /testbed status --porcelain").output == ""
    assert sandbox.run("git -C /testbed rev-parse HEAD").output.strip() == calc_task.base_commit
    assert sandbox.run("cd /testbed && git apply --check /tmp/agent.patch").exit_code == 0
    with pytest.raises(FileNotFoundError):
        sandbox.read_file("/testbed/does-not-exist")


def test_file_round_trips_through_shell_and_archive(sandbox, monkeypatch):
    """Small files go through the control shell, big ones through Docker's archive API; both exact."""
    odd = "/tmp/dir with 'quotes' $HOME/ünï cödé.txt"
    for text in ("", "\n", "no newline at end", "tabs\tand\r\nCRLF\x00nul\n", "x" * 70_000):
        sandbox.write_file(odd, text)
        assert sandbox.read_file(odd) == text
    assert sandbox.run(f"cat {shlex.quote(odd)} | wc -c").output.strip() == "70000"
    sandbox.run("printf 'caf\\xe9\\n' > /tmp/latin1.txt && ln -sf /tmp/latin1.txt /tmp/link.txt")
    assert sandbox.read_file("/tmp/link.txt") == "caf\ufffd\n"  # follows the link; bad bytes replaced
    with pytest.raises(IsADirectoryError):
        sandbox.read_file("/testbed/calc")
    with pytest.raises(OSError, match="stats.py") as failed:  # a file where a folder should be: the agent's mistake, shown to it
        sandbox.write_file("/testbed/calc/stats.py/inside.txt", "x")
    assert not isinstance(failed.value, swegym.InfrastructureError)
    archive = {"read": 0, "write": 0}
    read_archive, write_archive = sandbox._read_archive, sandbox._write_archive
    monkeypatch.setattr(sandbox, "_read_archive", lambda p: archive.__setitem__("read", archive["read"] + 1) or read_archive(p))
    monkeypatch.setattr(sandbox, "_write_archive",
                        lambda p, d: archive.__setitem__("write", archive["write"] + 1) or write_archive(p, d))
    big = "0123456789abcdef\n" * 70_000  # 1.2 MB: above the shell limit
    sandbox.write_file("/tmp/big.txt", big)
    assert sandbox.read_file("/tmp/big.txt") == big
    sandbox.read_file("/tmp/link.txt")
    assert archive == {"read": 1, "write": 1}


def test_write_file_keeps_executable_bit(sandbox):
    sandbox.run("printf '#!/bin/sh\\necho one\\n' > /tmp/s.sh && chmod +x /tmp/s.sh")
    sandbox.write_file("/tmp/s.sh", "#!/bin/sh\necho two\n")
    assert sandbox.run("/tmp/s.sh").output == "two\n"


def test_reset_after_commit_and_untracked(sandbox, calc_task):
    sandbox.run("cd /testbed && echo x > junk.py && git add -A && git commit -qm wip && echo y > more.txt")
    sandbox.reset()
    assert sandbox.diff() == ""
    assert sandbox.run("cd /testbed && git rev-parse HEAD && ls junk.py more.txt 2>&1 | wc -l").output.split()[0] \
        == calc_task.base_commit


def test_no_network_by_default_and_flag_turns_it_on(runtime, calc_task, sandbox):
    probe = "python3 -c \"import socket; s=socket.socket(); s.settimeout(2); s.connect(('10.255.255.53', 53))\""
    assert sandbox.run("ls /sys/class/net").output.split() == ["lo"]
    assert sandbox.run(probe, timeout=10).exit_code != 0
    with runtime.open(calc_task, network=True) as online:
        assert "eth0" in online.run("ls /sys/class/net").output.split()


def test_offline_sandbox_resolves_its_own_hostname(sandbox):
    # as on any host (dask's get_ip falls back to it when no route exists; modin's tests need that)
    probe = "python3 -c \"import socket; print(socket.getaddrinfo(socket.gethostname(), 80)[0][4][0])\""
    result = sandbox.run(probe, timeout=10)
    assert result.exit_code == 0 and result.output.strip() == "127.0.0.1", result.output[-300:]
    assert sandbox.run("ls /sys/class/net").output.split() == ["lo"]  # still no network


def test_limits_contain_fork_bomb_and_memory_hog(runtime, calc_task):
    with runtime.open(calc_task) as sb:
        hog = sb.run("python3 -c \"x = 'a' * (2 * 1024 ** 3); print(len(x))\"", timeout=60)
        assert hog.exit_code != 0 and not hog.timed_out
        assert sb.run("echo after-hog").output == "after-hog\n"
        # a foreground fork bomb: capped by the pids limit, killed whole at the timeout
        bomb = sb.run("bomb() { bomb | bomb; }; bomb", timeout=4)
        assert bomb.timed_out
        time.sleep(0.5)
        count = sb.run("ls -d /proc/[0-9]* | wc -l", timeout=30)
        assert count.exit_code == 0 and int(count.output.strip()) < 20
        assert sb.run("echo after-bomb").output == "after-bomb\n"
        # the classic one backgrounds itself and returns at once: the shell must still answer
        sb.run(":(){ :|:& };:", timeout=10)
        time.sleep(1)
        # builtins only: there may be no pid left to fork with
        alive = sb.run("n=(/proc/[0-9]*); read -r m </sys/fs/cgroup/pids/pids.max 2>/dev/null || "
                       "read -r m </sys/fs/cgroup/pids.max; echo \"alive ${#n[@]} $m\"", timeout=30)
        found = re.search(r"^alive (\d+) (\d+)$", alive.output, re.M)  # the bomb's fork errors interleave
        assert found and found.group(2) == "256", alive.output[-500:]
        assert int(found.group(1)) < 2 * 256  # capped (exiting tasks are briefly still listed)
        info = runtime.client.api.inspect_container(sb.container.id)["HostConfig"]
        assert info["PidsLimit"] == 256 and info["Memory"] == 512 * 1024 ** 2 and info["NetworkMode"] == "none"


def test_labels_and_removal_on_close(runtime, calc_task):
    sb = runtime.open(calc_task, run_id="test-labels")
    cid = sb.container.id
    labels = runtime.client.api.inspect_container(cid)["Config"]["Labels"]
    assert labels["swegym.run_id"] == "test-labels" and labels["swegym.owner_pid"].isdigit()
    sb.close()
    sb.close()  # twice is fine
    assert not runtime.client.containers.list(all=True, filters={"id": cid})


def test_released_sandboxes_are_removed_by_drain(runtime, calc_task):
    """The runtime owns the background removal of sandboxes nobody needs (harness, rollouts)."""
    boxes = [runtime.open(calc_task, run_id="test-release") for _ in range(3)]
    ids = [sb.container.id for sb in boxes]
    for sb in boxes:
        runtime.release(sb)
    runtime.drain()
    assert all(sb._closed for sb in boxes)
    assert not [c for c in runtime.client.containers.list(all=True, filters={"label": "swegym.run_id=test-release"})
                if c.id in ids]


def test_a_broken_repository_is_the_agents_doing_not_infrastructure(runtime, calc_task):
    from swegym.errors import InfrastructureError, RepositoryError

    with runtime.open(calc_task) as sb:
        sb.run("rm -rf /testbed/.git")
        with pytest.raises(RepositoryError, match="git diff") as info:
            sb.diff()
        assert not isinstance(info.value, InfrastructureError)


def test_run_returns_command_result(sandbox):
    r = sandbox.run("true")
    assert isinstance(r, CommandResult) and r.exit_code == 0 and r.duration_s < 1


def test_unreachable_daemon_is_infrastructure_error():
    with pytest.raises(swegym.InfrastructureError) as info:
        swegym.create("runtime", "docker", base_url="tcp://127.0.0.1:1")
    assert "cannot reach the Docker daemon" in str(info.value)


def test_warm_pool_and_prewarm_hand_out_fresh_sandboxes(docker_client, base_image, calc_task):
    run_id = "test-pool"
    rt = swegym.create("runtime", "docker", pool_size=1, run_id=run_id)
    try:
        first = rt.open(calc_task)
        first.run("echo dirty > /testbed/dirty.txt")
        first.close()
        rt.wait_pool()
        start = time.monotonic()
        with rt.open(calc_task) as second:  # taken from the pool: already running, shells ready
            assert time.monotonic() - start < 0.5
            assert second.container.id != first.container.id
            assert second.run("ls /testbed/dirty.txt").exit_code != 0 and second.diff() == ""
        rt.wait_pool()
        labelled = docker_client.containers.list(filters={"label": f"swegym.run_id={run_id}"})
        assert len(labelled) == 1  # just the refilled spare
    finally:
        rt.close()
    assert not docker_client.containers.list(all=True, filters={"label": f"swegym.run_id={run_id}"})
    cold = swegym.create("runtime", "docker", run_id="test-prewarm")
    try:
        cold.prewarm(calc_task)
        cold.wait_pool()
        with cold.open(calc_task) as sb:
            assert sb.run("echo hi").output == "hi\n"
    finally:
        cold.close()
    assert not docker_client.containers.list(all=True, filters={"label": "swegym.run_id=test-prewarm"})


def test_container_death_is_an_infrastructure_error(docker_client, base_image, calc_task):
    import threading

    rt = swegym.create("runtime", "docker", run_id="test-death")
    sb = rt.open(calc_task)
    try:
        killer = threading.Timer(1.0, lambda: docker_client.api.remove_container(sb.container.id, force=True))
        killer.start()
        start = time.monotonic()
        with pytest.raises(swegym.InfrastructureError) as info:
            sb.run("sleep 60", timeout=120)
        assert time.monotonic() - start < 30
        assert "container" in str(info.value) and info.value.cause
    finally:
        sb.close()
    missing = swegym.create("runtime", "docker", build_if_missing=False, image_prefix="swegymtest-nobuild")
    with pytest.raises(swegym.InfrastructureError, match="building is off"):
        missing.ensure_image(calc_task)


def test_background_flood_does_not_hide_the_end_marker(sandbox):
    """Issue 20.7: a background job flooding output must not make a later command time out."""
    sandbox.run("export KEEP=kept; (timeout 6 yes flood-flood-flood &) ", timeout=10)
    for _ in range(3):  # before the fix: a false 15 s timeout, then a new shell without $KEEP
        # the exit code, not the output, says the shell (and $KEEP) survived: the flood's lines mix
        # into the output, and under load enough of them arrive to clip the middle of it away
        res = sandbox.run('test "$KEEP" = kept', timeout=15)
        assert not res.timed_out and res.exit_code == 0, (res.exit_code, res.output[-300:])
    sandbox.run("sleep 6", timeout=10)  # the flood is over


def test_fork_bomb_does_not_break_housekeeping_or_leak_into_the_diff(runtime, calc_task):
    """Issue 20.8: the control path reclaims the pids budget; its stderr never enters a result."""
    with runtime.open(calc_task) as sb:
        sb.run("echo '# edited' >> calc/__init__.py", timeout=10)
        sb.run(":(){ :|:& };:", timeout=5)
        for _ in range(3):
            diff = sb.diff()
            assert diff.startswith("diff --git a/calc/__init__.py") and diff.endswith("+# edited\n"), diff[:300]
        assert sb.run("echo after-bomb", timeout=30).output.endswith("after-bomb\n")
