"""DockerRuntime: opens sandboxes on a local or remote Docker daemon through the docker SDK.

The same code path serves ``unix://``, ``tcp://`` (optionally TLS) and ``ssh://`` daemons: only the
client differs. Containers are resource-limited, have no network unless asked, carry owner labels
and are removed on close, at exit and on SIGTERM (see :mod:`swegym_docker.hygiene`).
"""
from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from swegym.errors import InfrastructureError, SwegymError
from swegym.interfaces import Runtime
from swegym.types import Task

from . import disk, hygiene
from .images import CACHE_VOLUME, ImageBuilder


ISOLATED_NETWORK = "swegym-isolated"
SANDBOX_HOSTNAME = "swegym-sandbox"  # resolvable inside a sandbox without network (see _start_container)


def parse_memory(value: str | int | None) -> int | None:
    """'4g' / '512m' / bytes → bytes."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip().lower().rstrip("b")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise SwegymError(f"memory limit {value!r}: use bytes or a number with k/m/g, e.g. 4g") from None


def make_client(base_url: str | None = None, *, tls_verify: bool | None = None, tls_ca_cert: str | None = None,
                tls_client_cert: str | None = None, tls_client_key: str | None = None, timeout: int = 300) -> Any:
    """A docker SDK client for ``base_url`` (default: DOCKER_HOST or the local socket), pinged."""
    import docker

    url = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        tls: Any = False
        if tls_verify or tls_ca_cert or tls_client_cert:
            client_cert = (tls_client_cert, tls_client_key) if tls_client_cert else None
            tls = docker.tls.TLSConfig(client_cert=client_cert, ca_cert=tls_ca_cert, verify=bool(tls_verify or tls_ca_cert))
        elif base_url is None and os.environ.get("DOCKER_TLS_VERIFY"):
            client = docker.from_env(timeout=timeout)
            client.ping()
            return client
        if url.startswith("ssh://"):
            import importlib.util

            if importlib.util.find_spec("paramiko") is None:  # the SDK's ssh transport (select()-able streams)
                raise SwegymError(f"DOCKER_HOST {url} needs paramiko: pip install 'swegym[ssh]'")
        kwargs: dict[str, Any] = {"base_url": url, "timeout": timeout, "tls": tls}
        client = docker.DockerClient(**kwargs)
        client.ping()
        return client
    except docker.errors.TLSParameterError as exc:
        raise SwegymError(f"Docker TLS options: {exc}") from None
    except SwegymError:
        raise
    except Exception as exc:
        raise InfrastructureError(
            f"cannot reach the Docker daemon at {url}: {exc}. Start it (scripts/start-docker.sh) or set "
            f"DOCKER_HOST / --docker-host.", cause=f"Docker daemon {url} unreachable: {exc}") from exc


class DockerRuntime(Runtime):
    """Sandboxes in Docker containers, one per task, from published or locally built images."""

    name = "docker"

    def __init__(self, base_url: str | None = None, *, tls_verify: bool | None = None, tls_ca_cert: str | None = None,
                 tls_client_cert: str | None = None, tls_client_key: str | None = None,
                 base_image: str | None = None, image_namespace: str | None = None, image_prefix: str = "swegym",
                 repo_sources: dict[str, Path] | None = None, env_spec_file: str | Path | None = None,
                 mem_limit: str | int | None = "4g", cpus: float | None = None, pids_limit: int | None = 1024,
                 run_id: str | None = None, build_if_missing: bool = True, use_published: bool = True,
                 pull: bool = True, network: bool = False, pool_size: int = 0, client: Any = None,
                 disk_limit: str | int | None = "20g", disk_poll_s: float = 10.0,
                 python_source: str = "auto", installer: str = "uv", cache_volume: str | None = CACHE_VOLUME,
                 build_base: bool = True, offline_network: str = "none", **unknown: Any) -> None:
        if unknown:
            raise SwegymError(f"docker runtime: unknown option(s) {', '.join(sorted(unknown))}")
        self.base_url = base_url
        self.client = client or make_client(base_url, tls_verify=tls_verify, tls_ca_cert=tls_ca_cert,
                                            tls_client_cert=tls_client_cert, tls_client_key=tls_client_key)
        self.mem_limit = parse_memory(mem_limit)
        self.cpus = cpus if cpus is not None else float(os.cpu_count() or 1)
        self.pids_limit = pids_limit
        # Disk budget of a sandbox's writable layer: a quota where the driver has one, else a watchdog.
        self.disk_limit = parse_memory(disk_limit)
        self._disk_quota = bool(self.disk_limit) and disk.quota_supported(self.client)
        self.watchdog = disk.DiskWatchdog(self.client.api, self.disk_limit, float(disk_poll_s)) \
            if self.disk_limit else None
        self.run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
        self.build_if_missing = build_if_missing
        self.use_published = use_published
        self.network = network
        if offline_network not in ("none", "isolated"):
            raise SwegymError(f"docker runtime: offline_network {offline_network!r}: use none or isolated")
        self.offline_network = offline_network
        self._isolated_ok: bool | None = None
        self.builder = ImageBuilder(self.client, base_image=base_image, prefix=image_prefix,
                                    image_namespace=image_namespace, repo_sources=repo_sources,
                                    env_spec_file=env_spec_file, pull=pull, python_source=python_source,
                                    installer=installer, cache_volume=cache_volume, build_base=build_base)
        self._images: dict[str, str] = {}
        # Warm pool: started, never-used containers per (image, network, run id), so that the next
        # open() of the same image (best-of-k rollouts, retries) skips the ~0.5 s container start.
        self.pool_size = max(int(pool_size), 0)
        self._closed = False
        self._closer: ThreadPoolExecutor | None = None
        self._closer_lock = threading.Lock()
        self._pending: set[Future] = set()
        hygiene.install()
        self._pool: dict[tuple[str, bool, str], list[Any]] = {}
        self._pool_lock = threading.Lock()
        self._refilling: dict[tuple[str, bool, str], threading.Thread] = {}

    # -- images -------------------------------------------------------------------------------
    def ensure_image(self, task: Task) -> str:
        cached = self._images.get(task.instance_id)
        if cached:
            return cached
        image = self.builder.ensure(task, build_if_missing=self.build_if_missing, use_published=self.use_published)
        self._images[task.instance_id] = image
        return image

    def cleanup(self, run_id: str) -> int:
        """Remove the containers of ``run_id`` whose owner process died (kill -9); return how many."""
        rows = hygiene.cleanup(self.client, run_id=run_id, dead_only=True)
        return sum(1 for r in rows if r["action"] == "remove")

    def spec_for(self, task: Task) -> Any:
        """The :class:`swegym.specs.EnvSpec` this runtime builds ``task`` with (test_cmd, eval_commands…)."""
        return self.builder.spec_for(task)

    # -- sandboxes ----------------------------------------------------------------------------
    def open(self, task: Task, *, network: bool | None = None, run_id: str | None = None,
             image: str | None = None) -> "Any":
        """Start a container for ``task`` and its shell; the repository is at base_commit in /testbed."""
        import docker

        from .sandbox import DockerSandbox

        image = image or self.ensure_image(task)
        run_id = run_id or self.run_id
        labels = {**hygiene.owner_labels(run_id), hygiene.LABEL_KIND: "sandbox",
                  hygiene.LABEL_INSTANCE: task.instance_id}
        net = self.network if network is None else network
        key = (image, net, run_id)
        container, session = self._take_pooled(key)
        try:
            if container is None:
                container = self._start_container(image, net, labels)
            sandbox = DockerSandbox(self, container, task, image, run_id, session=session)
            if self.watchdog is not None and not self._disk_quota:
                self.watchdog.watch(sandbox)
        except docker.errors.ImageNotFound as exc:
            if container is not None:
                self._remove_container(container.id)
            raise InfrastructureError(f"image {image} not found for {task.instance_id}", cause=str(exc)) from exc
        except docker.errors.APIError as exc:
            if container is not None:
                self._remove_container(container.id)
            raise InfrastructureError(f"could not start a sandbox for {task.instance_id}", cause=str(exc)) from exc
        except BaseException:
            if container is not None:
                self._remove_container(container.id)
            raise
        if self.pool_size:
            self._refill(key, labels)
        return sandbox

    def _start_container(self, image: str, net: bool, labels: dict[str, str]) -> Any:
        # The low-level API, not ``containers.create``: that one inspects the new container once
        # more only to build a model object, a daemon round trip on every sandbox start (only the
        # id is used).
        api = self.client.api
        network_mode = "bridge" if net else self._isolated_network()
        host: dict[str, Any] = dict(init=True, network_mode=network_mode,
                                    pids_limit=self.pids_limit, nano_cpus=int(self.cpus * 1e9) if self.cpus else None)
        hostname = None
        if network_mode == "none":
            # With no network the engine leaves the container's hostname out of /etc/hosts, so
            # resolving it fails, unlike on any host or in swebench's networked containers (dask's
            # get_ip falls back to it: most modin tests failed on "name resolution"). Loopback it.
            hostname = SANDBOX_HOSTNAME
            host["extra_hosts"] = {SANDBOX_HOSTNAME: "127.0.0.1"}
        if self._disk_quota:
            host["storage_opt"] = {"size": str(self.disk_limit)}
        if self.mem_limit:
            host["mem_limit"] = self.mem_limit
            host["memswap_limit"] = self.mem_limit  # no swap: the limit is the limit

        def create() -> str:
            return api.create_container(image, command=["sleep", "infinity"], detach=True, labels=labels,
                                        working_dir="/testbed", stdin_open=False, tty=False, hostname=hostname,
                                        host_config=api.create_host_config(**host))["Id"]

        try:
            cid = create()
        except Exception as exc:  # noqa: BLE001 - e.g. xfs without pquota: fall back to the watchdog
            if "storage_opt" not in host or "storage" not in str(exc).lower():
                raise
            self._disk_quota = False
            host.pop("storage_opt")
            cid = create()
        hygiene.track(cid, lambda cid=cid: self._remove_container(cid))
        try:
            api.start(cid)
        except BaseException:
            self._remove_container(cid)
            raise
        return self.client.containers.prepare_model({"Id": cid})

    def _isolated_network(self) -> str:
        """The network of a sandbox without network access.

        ``none`` (default): no interface but loopback; a connection fails at once. ``isolated``: an
        internal bridge (no route out, no traffic between containers) where a connection times out
        as on a firewalled host, which some upstream tests expect (requests' ``TestTimeout`` connects
        to an unroutable address and wants ConnectTimeout). The host's own bridge address stays
        reachable there, so only use it where host services bound to all interfaces are no concern.
        """
        import docker

        if self.offline_network != "isolated":
            return "none"
        with self._pool_lock:
            if self._isolated_ok is None:
                try:
                    self.client.networks.get(ISOLATED_NETWORK)
                    self._isolated_ok = True
                except docker.errors.NotFound:
                    try:
                        # the engine picks a free subnet: a fixed one could shadow a host route (e.g. its DNS)
                        self.client.networks.create(ISOLATED_NETWORK, driver="bridge", internal=True,
                                                    options={"com.docker.network.bridge.enable_icc": "false"},
                                                    labels={"swegym.network": "isolated"})
                        self._isolated_ok = True
                    except docker.errors.APIError as exc:
                        self._isolated_ok = "already exists" in str(exc)
                except docker.errors.APIError:
                    self._isolated_ok = False
            if not self._isolated_ok:
                raise InfrastructureError(f"cannot create the internal network {ISOLATED_NETWORK}",
                                          cause="network create failed")
        return ISOLATED_NETWORK

    def _take_pooled(self, key: tuple[str, bool, str]) -> tuple[Any, Any]:
        with self._pool_lock:
            ready = self._pool.get(key) or []
            return ready.pop() if ready else (None, None)

    def prewarm(self, task: Task, *, network: bool | None = None, run_id: str | None = None) -> None:
        """Start a container (and its shells) for ``task`` in the background; the next open() takes it.

        An orchestrator calls this for the next task while the current episode runs.
        """
        image = self.ensure_image(task)
        run_id = run_id or self.run_id
        net = self.network if network is None else network
        labels = {**hygiene.owner_labels(run_id), hygiene.LABEL_KIND: "sandbox",
                  hygiene.LABEL_INSTANCE: task.instance_id}
        self._refill((image, net, run_id), labels, target=max(self.pool_size, 1))

    def _refill(self, key: tuple[str, bool, str], labels: dict[str, str], target: int | None = None) -> None:
        from .sandbox import new_session

        want = self.pool_size if target is None else target

        with self._pool_lock:
            running = self._refilling.get(key)
            if running is not None and running.is_alive():
                return

            def work() -> None:
                while True:
                    with self._pool_lock:
                        if len(self._pool.get(key) or []) >= want or self._closed:
                            return
                    container = None
                    try:
                        container = self._start_container(key[0], key[1], labels)
                        session = new_session(self.client.api, container.id)
                    except Exception:
                        if container is not None:
                            self._remove_container(container.id)
                        return  # the next open() starts its own container and reports any error
                    with self._pool_lock:
                        if not self._closed:
                            self._pool.setdefault(key, []).append((container, session))
                            continue
                    session.close()
                    self._remove_container(container.id)
                    return

            thread = threading.Thread(target=work, name="swegym-docker-pool", daemon=True)
            self._refilling[key] = thread
            thread.start()

    def wait_pool(self, timeout: float = 60.0) -> None:
        """Block until background pool refills have finished (benchmarks, tests)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._refilling.values()):
            thread.join(max(deadline - time.monotonic(), 0))

    def _remove_container(self, container_id: str) -> None:
        hygiene.remove_container(self.client.api, container_id)

    # -- lifecycle of released sandboxes ----------------------------------------------------------
    def release(self, sandbox: Any) -> None:
        """Close ``sandbox`` on a background thread: removing a container takes ~0.5 s."""
        with self._closer_lock:
            if self._closer is None:
                self._closer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="swegym-close")
                atexit.register(self.drain)
            future = self._closer.submit(_close_quietly, sandbox)
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._closer_lock:
            self._pending.discard(future)

    def drain(self, timeout: float | None = 120.0) -> None:
        """Wait until every released sandbox is closed."""
        with self._closer_lock:
            pending = list(self._pending)
        for future in pending:
            try:
                future.result(timeout=timeout)
            except Exception:  # noqa: BLE001 - _close_quietly swallows; a timeout leaves it to hygiene
                pass

    def abort(self) -> None:
        """Ctrl-C: close, and force-remove every container this process still has (sandboxes and image
        builds), so that threads blocked on them return at once and the process can exit."""
        self.close()
        hygiene.remove_all()

    def close(self) -> None:
        """Remove pooled containers and release the client (open sandboxes stay usable until closed)."""
        self.drain()
        if self.watchdog is not None:
            self.watchdog.close()
        with self._pool_lock:
            self._closed = True
            pooled = [entry for items in self._pool.values() for entry in items]
            self._pool.clear()
        for container, session in pooled:
            session.close()
            self._remove_container(container.id)


def _close_quietly(sandbox: Any) -> None:
    try:
        sandbox.close()
    except Exception:  # noqa: BLE001 - closing a sandbox of a dead daemon must not hide a result
        pass
