"""Task images: the published per-instance image when there is one, otherwise three built layers.

Layers, as SWE-bench builds them, each tagged with a content hash of what it depends on, so an
unchanged spec is a cache hit and a changed one rebuilds only from the changed layer down:

* base     ``<prefix>/sweb.base:<h>``                 FROM the configured base (an offline Debian
           image by default) + host CA bundle + a venv on PATH + git identity.
* env      ``<prefix>/sweb.env.<repo>.<version>:<h>``  pip packages of the repo+version spec.
* instance ``<prefix>/sweb.eval.<instance>:<h>``       the repository at base_commit in /testbed,
           pre_install + install run, files the install created hidden from ``git status``.

No conda here. ``python_source`` says where the spec's Python comes from: ``debian`` (the
Debian suite whose python3 is nearest: bullseye 3.9, bookworm 3.11, trixie 3.13; its
``swegym/base:<suite>`` image is built with debootstrap when missing), ``uv`` (a uv-managed
Python of the exact version; needs uv's download host), or ``auto`` (the suite when it has the
exact version, else try uv, else the nearest suite). The image label ``swegym.python`` records the
Python actually installed, ``swegym.python.source`` where it came from.

The base layer is a Dockerfile build (it only adds files and system packages). The env and
instance layers run their scripts in a container that mounts a shared package-cache volume
(``swegym-pkg-cache`` at /root/.cache: pip's and uv's caches) and are committed to their tags, so a
package downloaded once is reused by every later build; packages go in with ``uv pip`` (pip as the
fallback, or with ``installer="pip"``). Everything goes through the docker SDK, so remote daemons
work (the cache volume lives on the daemon).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from swegym.errors import InfrastructureError, SwegymError
from swegym.repos import repo_source
from swegym.specs import EnvSpec, get_spec
from swegym.types import Task
from swegym.validation import check_commit

from . import hygiene

LAYER_VERSION = "3"  # bump when the base/env templates change meaning
INSTANCE_LAYER_VERSION = "4"  # bump when the instance template changes meaning
CA_BUNDLE = Path(os.environ.get("SWEGYM_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))
VENV = "/opt/swegym/venv"
LABEL_LAYER = "swegym.layer"
LABEL_PREFIX = "swegym.prefix"
LABEL_PYTHON = "swegym.python"
LABEL_PYTHON_SOURCE = "swegym.python.source"
SUITES = {"bullseye": (3, 9), "bookworm": (3, 11), "trixie": (3, 13)}
PYTHON_SOURCES = ("auto", "debian", "uv")
INSTALLERS = ("uv", "pip")
CACHE_VOLUME = "swegym-pkg-cache"
#: installed into the task venv of every image (upstream's conda envs came with pip, setuptools, wheel)
VENV_SEED = ("pip==24.2", "setuptools<71", "wheel")
#: System packages of SWE-bench's base image (its Dockerfile's apt list), less python3 (the suite's
#: own is used) and locales-all (230 MB; ``locales`` + C.UTF-8 instead); plus python3-dev, because
#: upstream's conda Python ships its C headers and sdists with C extensions (openslide-python,
#: ruamel.yaml.clib, ...) need Python.h to build.
BASE_SYSTEM_PACKAGES = ("wget", "git", "build-essential", "libffi-dev", "libtiff-dev", "jq", "curl", "locales",
                        "tzdata", "ca-certificates", "patch", "procps", "python3-dev")
SWEGYM_REPOS = {
    "pandas-dev/pandas", "Project-MONAI/MONAI", "getmoto/moto", "python/mypy", "iterative/dvc", "dask/dask",
    "modin-project/modin", "pydantic/pydantic", "conan-io/conan", "facebookresearch/hydra", "bokeh/bokeh",
}


def default_base_image() -> str:
    return os.environ.get("SWEGYM_BASE_IMAGE") or "swegym/base:bookworm"


def published_image(task: Task, namespace: str | None = None) -> str:
    """The public per-instance image name (SWE-Gym's or SWE-bench's scheme)."""
    if task.repo in SWEGYM_REPOS:
        key = task.instance_id.replace("__", "_s_").lower()
        ns = namespace or "xingyaoww"
    else:
        key = task.instance_id.replace("__", "_1776_").lower()
        ns = namespace or "swebench"
    return f"{ns}/sweb.eval.x86_64.{key}:latest"


def _slug(text: str, limit: int = 80) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "_", text.lower()).strip("._-")
    return slug[:limit] or "x"


def _h(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def nearest_suite(python: str | None) -> str:
    """The Debian suite whose python3 is closest to ``python`` (ties go to the newer one)."""
    if not python:
        return "bookworm"
    try:
        major, minor = (int(x) for x in python.split(".")[:2])
    except ValueError:
        return "bookworm"
    return min(SUITES, key=lambda s: (abs(SUITES[s][1] - minor) + 10 * abs(SUITES[s][0] - major), -SUITES[s][1]))


def python_plan(python: str | None, source: str = "auto") -> tuple[str, str | None]:
    """(Debian suite of the base image, exact version uv must install or None) for a spec's Python."""
    if source not in PYTHON_SOURCES:
        raise SwegymError(f"python source {source!r}: use one of {', '.join(PYTHON_SOURCES)}")
    suite = nearest_suite(python)
    if not python or source == "debian":
        return suite, None
    try:
        wanted = tuple(int(x) for x in python.split(".")[:2])
    except ValueError:
        return suite, None
    if source == "auto" and SUITES[suite] == wanted:
        return suite, None
    return suite, "%d.%d" % wanted


@dataclass
class Plan:
    """The three layer tags of one task, and what goes into them."""

    task: Task
    spec: EnvSpec
    base_from: str
    base_tag: str
    env_tag: str
    instance_tag: str
    source: str
    uv_python: str | None = None


def _tar_context(files: dict[str, bytes | Path]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            if isinstance(content, Path):
                tar.add(str(content), arcname=name)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    buf.seek(0)
    return buf


def _sh(lines: list[str]) -> str:
    """Lines → one RUN-able bash script (as a JSON exec form, so no Dockerfile escaping rules apply)."""
    script = "set -e\n" + "\n".join(lines)
    return "RUN " + json.dumps(["/bin/bash", "-c", script])


#: Shell function the env and instance scripts install packages with: uv when asked and present,
#: pip otherwise or when uv fails (uv's resolver refuses some sets pip accepts).
_INSTALL_FN = (
    'swegym_pip() { if [ "${SWEGYM_INSTALLER:-uv}" = uv ] && command -v uv >/dev/null 2>&1; then '
    'uv pip install "$@" && return 0; echo "[swegym] uv pip install failed; retrying with pip" >&2; fi; '
    'python -m pip install "$@"; }'
)


class ImageBuilder:
    """Finds or builds the image of a task. Thread-safe: one build per tag at a time."""

    def __init__(self, client: Any, *, base_image: str | None = None, prefix: str = "swegym",
                 image_namespace: str | None = None, repo_sources: dict[str, Path] | None = None,
                 env_spec_file: str | Path | None = None, pull: bool = True, python_source: str = "auto",
                 installer: str = "uv", cache_volume: str | None = CACHE_VOLUME, build_base: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        if python_source not in PYTHON_SOURCES:
            raise SwegymError(f"--python-source {python_source!r}: use one of {', '.join(PYTHON_SOURCES)}")
        if installer not in INSTALLERS:
            raise SwegymError(f"installer {installer!r}: use one of {', '.join(INSTALLERS)}")
        self.client = client
        self.explicit_base = base_image
        self.prefix = prefix
        self.namespace = image_namespace
        self.repo_sources = dict(repo_sources or {})
        self.env_spec_file = env_spec_file
        self.pull = pull
        self.python_source = python_source
        self.installer = installer
        self.cache_volume = cache_volume or None
        self.build_base = build_base
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._registry_down = False
        self._warned: set[str] = set()
        self.cache_hits = 0
        self.built: list[str] = []
        #: one row per layer built: {"tag", "layer", "seconds"} (what benchmarks/environments.py reads)
        self.timings: list[dict[str, Any]] = []

    # -- helpers -----------------------------------------------------------------------------
    def _lock(self, tag: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tag, threading.Lock())

    def _exists(self, name: str) -> Any:
        import docker

        try:
            return self.client.images.get(name)
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise InfrastructureError(f"cannot inspect image {name}", cause=str(exc)) from exc

    def _base_for(self, spec: EnvSpec) -> str:
        if self.explicit_base:
            return self.explicit_base
        suite, _ = python_plan(spec.python, self.python_source)
        suite_image = f"swegym/base:{suite}"
        if self._exists(suite_image) is not None:
            return suite_image
        if self.build_base:
            from .baseimage import ensure_base_image

            try:
                return ensure_base_image(self.client, suite, self.log)
            except InfrastructureError as exc:
                why = str(exc)
        else:
            why = "building base images is off"
        fallback = default_base_image()
        key = f"{spec.python}->{fallback}"
        if key not in self._warned:
            self._warned.add(key)
            self.log(f"[swegym] Python {spec.python} requested for {spec.repo}: {suite_image} is missing ({why}); "
                     f"using {fallback}")
        return fallback

    def spec_for(self, task: Task) -> EnvSpec:
        return get_spec(task.repo, task.version, self.env_spec_file)

    def plan(self, task: Task) -> Plan:
        spec = self.spec_for(task)
        base_from = self._base_for(spec)
        base_img = self._exists(base_from)
        if base_img is None:
            raise InfrastructureError(
                f"base image {base_from} not found on the Docker daemon; build it with scripts/build-base-image.sh "
                f"or pass --base-image", cause=f"missing base image {base_from}")
        _, uv_python = python_plan(spec.python, self.python_source)
        ca = CA_BUNDLE.read_bytes() if CA_BUNDLE.exists() else b""
        base_hash = _h(LAYER_VERSION, base_img.id, hashlib.sha256(ca).hexdigest(), BASE_SYSTEM_PACKAGES, VENV_SEED)
        base_tag = f"{self.prefix}/sweb.base:{base_hash}"
        env_tag = f"{self.prefix}/sweb.env.{_slug(task.repo.replace('/', '__'))}.{_slug(task.version or 'none', 20)}:" \
                  f"{_h(base_tag, spec.env_hash(), uv_python, self.python_source)}"
        source = repo_source(task.repo, self.repo_sources)
        inst_hash = _h(INSTANCE_LAYER_VERSION, env_tag, task.repo, task.base_commit, spec.instance_hash())
        instance_tag = f"{self.prefix}/sweb.eval.{_slug(task.instance_id, 120)}:{inst_hash}"
        return Plan(task, spec, base_from, base_tag, env_tag, instance_tag, source, uv_python)

    # -- entry point ---------------------------------------------------------------------------
    def ensure(self, task: Task, *, build_if_missing: bool = True, use_published: bool = True) -> str:
        """Return an image for ``task``: published if present/pullable, else built (or cached) layers."""
        if use_published and not task.repo.startswith("swegym-demo/"):
            name = published_image(task, self.namespace)
            if self._exists(name) is not None:
                return name
            if self.pull and not self._registry_down and self._try_pull(name):
                return name
        plan = self.plan(task)
        if self._exists(plan.instance_tag) is not None:
            self.cache_hits += 1
            return plan.instance_tag
        if not build_if_missing:
            raise InfrastructureError(f"no image for {task.instance_id} ({plan.instance_tag}) and building is off",
                                      cause="image missing")
        self._build_base(plan)
        self._build_env(plan)
        self._build_instance(plan)
        return plan.instance_tag

    def _try_pull(self, name: str) -> bool:
        import docker

        repo, _, tag = name.rpartition(":")
        try:
            self.client.images.pull(repo, tag=tag or "latest")
            return True
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError as exc:
            text = str(exc)
            if any(s in text for s in ("no such host", "dial tcp", "timeout", "connection refused", "TLS handshake")):
                self._registry_down = True  # offline: do not retry for every task
            return False

    # -- layers --------------------------------------------------------------------------------
    def _build_base(self, plan: Plan) -> None:
        apt = " ".join(BASE_SYSTEM_PACKAGES)
        dockerfile = "\n".join([
            f"FROM {plan.base_from}",
            "COPY ca.crt /usr/local/share/swegym/ca.crt",
            "ENV PIP_CERT=/usr/local/share/swegym/ca.crt REQUESTS_CA_BUNDLE=/usr/local/share/swegym/ca.crt "
            "SSL_CERT_FILE=/usr/local/share/swegym/ca.crt GIT_SSL_CAINFO=/usr/local/share/swegym/ca.crt "
            "NODE_EXTRA_CA_CERTS=/usr/local/share/swegym/ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "
            "PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8 "
            "LC_ALL=C.UTF-8 TZ=Etc/UTC DEBIAN_FRONTEND=noninteractive UV_LINK_MODE=copy UV_PYTHON_PREFERENCE=system",
            _sh([f"apt-get update -qq && apt-get install -y -qq --no-install-recommends {apt} >/dev/null "
                 "&& rm -rf /var/lib/apt/lists/*",
                 f"python3 -m venv {VENV}",
                 # what a conda env of the time had: a pip that installs editables by PEP 660 (Debian's
                 # 20.3 on bullseye shells out to `setup.py develop`, which new setuptools breaks), setuptools, wheel
                 f"{VENV}/bin/python -m pip install -q --no-cache-dir {' '.join(_quote(p) for p in VENV_SEED)}",
                 # uv in a venv of its own, so that recreating the task venv (uv-managed Python) keeps it
                 "python3 -m venv /opt/swegym/tools && /opt/swegym/tools/bin/python -m pip install -q --no-cache-dir uv "
                 "&& ln -sf /opt/swegym/tools/bin/uv /usr/local/bin/uv || echo '[swegym] uv unavailable; pip only' >&2",
                 "git config --global user.email swegym@localhost",
                 "git config --global user.name swegym",
                 "git config --global --add safe.directory '*'",
                 "git config --global advice.detachedHead false",
                 "mkdir -p /testbed"]),
            f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "WORKDIR /testbed",
        ])
        ca = CA_BUNDLE.read_bytes() if CA_BUNDLE.exists() else b""
        self._build(plan.base_tag, {"Dockerfile": dockerfile.encode(), "ca.crt": ca},
                    {LABEL_LAYER: "base", "swegym.from": plan.base_from})

    def _build_env(self, plan: Plan) -> None:
        spec = plan.spec
        lines = [_INSTALL_FN]
        if plan.uv_python:
            # exact Python from uv (needs uv's download host); 'auto' falls back to the suite's python3
            get = (f"uv python install {plan.uv_python} && uv venv -q --clear --seed --python {plan.uv_python} {VENV}"
                   f" && echo uv > /opt/swegym/python-source")
            if self.python_source == "uv":
                lines.append(f"command -v uv >/dev/null || {{ echo '[swegym] --python-source uv: uv is missing' >&2; exit 1; }}")
                lines.append(get)
            else:
                lines.append(f"{{ {get}; }} || {{ echo '[swegym] uv cannot install Python {plan.uv_python}; "
                             f"using the suite python3' >&2; echo debian > /opt/swegym/python-source; }}")
        else:
            lines.append("echo debian > /opt/swegym/python-source")
        pkgs = list(spec.pip_packages)
        if spec.packages and spec.packages not in ("requirements.txt", "environment.yml"):
            pkgs += _split_packages(spec.packages)
        if pkgs:
            lines.append("swegym_pip " + " ".join(_quote(p) for p in pkgs))
        lines.append("python -c 'import sys; print(\"%d.%d.%d\" % sys.version_info[:3])' > /opt/swegym/python-version")
        lines.append('echo "SWEGYM_PYTHON=$(cat /opt/swegym/python-version) SWEGYM_PYTHON_SOURCE=$(cat /opt/swegym/python-source)"')
        env = [f"ENV {k}={json.dumps(v)}" for k, v in sorted(spec.env.items())]
        labels = {LABEL_LAYER: "env", "swegym.repo": spec.repo, "swegym.version": spec.version,
                  "swegym.python.requested": spec.python or ""}
        self._run_commit(plan.env_tag, plan.base_tag, lines, labels, env, layer="env")

    def _build_instance(self, plan: Plan) -> None:
        task, spec = plan.task, plan.spec
        check_commit(task.base_commit)  # tasks built in code skip the loader's check; the host runs git on it
        tmp = None
        try:
            files: dict[str, bytes | Path] = {}
            if _is_local(plan.source):
                tmp = Path(tempfile.mkdtemp(prefix="swegym-repo-"))
                repo_dir = tmp / "testbed"
                _prepare_local_repo(plan.source, task.base_commit, repo_dir)
                files["testbed"] = repo_dir
                checkout: list[str] = []
            else:
                checkout = [f"git clone -q -- {_quote(plan.source)} /testbed",
                            "cd /testbed",
                            f"git checkout -q --detach {_quote(task.base_commit)} --",
                            *_strip_history_lines(task.base_commit)]
            lines = [_INSTALL_FN, *checkout, "cd /testbed",
                     # a mirror without tags (shallow) gives setuptools_scm nothing to describe: pretend
                     # the task's version, so e.g. pytest does not install as 0.1.dev1
                     f"git describe --tags >/dev/null 2>&1 || export SETUPTOOLS_SCM_PRETEND_VERSION="
                     f"{_quote(_pep440(task.version))}"]
            lines += [f"{cmd}" for cmd in spec.pre_install]
            if spec.packages == "requirements.txt" and spec.requirements_paths:
                paths = " ".join(_quote(p) for p in spec.requirements_paths)
                lines.append(f"for r in {paths}; do if [ -f \"$r\" ]; then swegym_pip -r \"$r\"; break; fi; done")
            elif spec.packages == "environment.yml":
                lines.append("echo '[swegym] environment.yml is a conda file; swegym builds without conda and skips it' >&2")
            if spec.install:
                lines.append(spec.install)
            lines += [
                "cd /testbed",
                # what the install created must not show up in diffs or be removed by reset()
                "git status --porcelain --untracked-files=all | sed -n 's/^?? //p' >> .git/info/exclude || true",
                # tracked files the install rewrote (e.g. a committed egg-info) are install state too
                "git diff --name-only -z | xargs -0 -r git update-index --skip-worktree --",
                "git update-index -q --refresh || true",
                f"test \"$(git rev-parse HEAD)\" = {_quote(task.base_commit)}",
            ]
            labels = {LABEL_LAYER: "instance", "swegym.instance_id": task.instance_id, "swegym.repo": task.repo,
                      "swegym.base_commit": task.base_commit}
            try:
                self._run_commit(plan.instance_tag, plan.env_tag, lines, labels, [], layer="instance", files=files)
            except InfrastructureError as exc:
                if _is_local(plan.source):
                    raise
                raise InfrastructureError(
                    f"{exc} — the repository is cloned from {plan.source} during the build; without access to it, "
                    f"pass a local mirror: --repo-source {task.repo}=PATH (a clone or bare git directory)",
                    cause=exc.cause) from exc
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    def _run_commit(self, tag: str, parent: str, lines: list[str], labels: dict[str, str], changes: list[str], *,
                    layer: str, files: dict[str, bytes | Path] | None = None) -> None:
        """Run ``lines`` in a container of ``parent`` (package cache mounted) and commit it as ``tag``."""
        import docker

        with self._lock(tag):
            if self._exists(tag) is not None:
                self.cache_hits += 1
                return
            started = time.monotonic()
            exports = {"SWEGYM_INSTALLER": self.installer}
            for name in ("UV_PYTHON_INSTALL_MIRROR",):  # where uv downloads Pythons from (a local mirror), if set
                if os.environ.get(name):
                    exports[name] = os.environ[name]
            script = "set -e\n" + "".join(f"export {k}={_quote(v)}\n" for k, v in exports.items()) + "\n".join(lines)
            volumes = {self.cache_volume: {"bind": "/root/.cache", "mode": "rw"}} if self.cache_volume else None
            log: list[str] = []
            container = None
            log_path = _log_dir() / f"{_slug(tag.replace(':', '_'), 200)}.log"
            try:
                try:
                    container = self.client.containers.create(
                        parent, command=["/bin/bash", "-c", script], working_dir="/testbed", volumes=volumes,
                        network_mode="bridge", name=f"swegym-build-{_h(tag, os.getpid(), time.time())}")
                    cid = container.id
                    hygiene.track(cid, lambda: self.client.api.remove_container(cid, force=True, v=True))  # Ctrl-C, SIGTERM
                    if files:
                        self.client.api.put_archive(container.id, "/", _tar_context(files).getvalue())
                    container.start()
                    for chunk in container.logs(stream=True, follow=True):
                        log.append(chunk.decode("utf-8", "replace"))
                    code = container.wait().get("StatusCode", 1)
                except docker.errors.APIError as exc:
                    raise InfrastructureError(f"building image {tag} failed", cause=str(exc)) from exc
                text = "".join(log)
                try:
                    log_path.write_text(text)
                except OSError:
                    pass
                if code:
                    last = [line.rstrip() for line in text.splitlines() if line.strip()][-4:]
                    raise InfrastructureError(
                        f"building image {tag} failed: the {layer} script exited with code {code}; last output: "
                        f"{' | '.join(last)[-600:]} (full log: {log_path})", cause=text[-2500:])
                found = re.findall(r"SWEGYM_PYTHON=(\S+) SWEGYM_PYTHON_SOURCE=(\S+)", text)
                if found:
                    labels = {**labels, LABEL_PYTHON: found[-1][0], LABEL_PYTHON_SOURCE: found[-1][1]}
                labels = {**labels, LABEL_PREFIX: self.prefix,
                          # how long this layer took to build, readable later from a cache hit
                          f"swegym.build.{layer}_s": f"{time.monotonic() - started:.1f}"}
                instr = [*changes, "CMD [\"/bin/bash\"]", "WORKDIR /testbed",
                         *(f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in labels.items())]
                repo, _, version = tag.rpartition(":")
                try:
                    container.commit(repository=repo, tag=version, changes=instr)
                except docker.errors.APIError as exc:
                    raise InfrastructureError(f"committing image {tag} failed", cause=str(exc)) from exc
            finally:
                if container is not None:
                    hygiene.untrack(container.id)
                    try:
                        container.remove(force=True, v=True)
                    except docker.errors.APIError:
                        pass
            self.timings.append({"tag": tag, "layer": layer, "seconds": round(time.monotonic() - started, 1)})
            self.built.append(tag)

    def _build(self, tag: str, files: dict[str, bytes | Path], labels: dict[str, str]) -> None:
        with self._lock(tag):
            if self._exists(tag) is not None:
                self.cache_hits += 1
                return
            started = time.monotonic()
            context = _tar_context(files)
            labels = {**labels, LABEL_PREFIX: self.prefix}
            log: list[str] = []
            try:
                stream = self.client.api.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True,
                                               decode=True, labels=labels, network_mode="bridge")
                error = None
                for chunk in stream:
                    if "stream" in chunk:
                        log.append(chunk["stream"])
                    if "error" in chunk:
                        error = chunk.get("error")
            except Exception as exc:
                raise InfrastructureError(f"building image {tag} failed", cause=str(exc)) from exc
            log_path = _log_dir() / f"{_slug(tag.replace(':', '_'), 200)}.log"
            try:
                log_path.write_text("".join(log))
            except OSError:
                pass
            if error:
                error = error.strip()
                code = re.search(r"returned a non-zero code: (\d+)", error)
                short = f"a build step exited with code {code.group(1)}" if code else error[:300]
                text = "".join(log)
                step_output = re.split(r" ---> Running in \w+\n", text)[-1]  # the failing step's own output
                last = [line.rstrip() for line in step_output.splitlines()
                        if line.strip() and "Removing intermediate" not in line and " ---> " not in line][-4:]
                raise InfrastructureError(
                    f"building image {tag} failed: {short}; last output: {' | '.join(last)[-600:]} "
                    f"(full log: {log_path})", cause=f"{error}\n{''.join(log)[-2500:]}")
            self.timings.append({"tag": tag, "layer": labels.get(LABEL_LAYER, ""),
                                 "seconds": round(time.monotonic() - started, 1)})
            self.built.append(tag)


def _pep440(version: str | None) -> str:
    """A task version (``6.0``, ``2022.03``, ``v5.3``) as a release number setuptools_scm accepts."""
    parts = re.findall(r"\d+", version or "") or ["0"]
    return ".".join(str(int(p)) for p in (parts + ["0", "0"])[:3])


def _log_dir() -> Path:
    root = os.environ.get("SWEGYM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swegym"
    path = Path(root) / "build-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _split_packages(text: str) -> list[str]:
    import shlex

    return shlex.split(text)


def _is_local(source: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*://", source) and not source.startswith("git@")


def _git(args: list[str], cwd: Path | None = None, *, check: bool = True) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode and check:
        raise SwegymError(f"git {' '.join(args[:3])} failed: {proc.stderr.strip()[:500]}")
    return proc.stdout.strip()


def _is_ancestor(ref: str, commit: str, cwd: Path) -> bool:
    proc = subprocess.run(["git", "merge-base", "--is-ancestor", ref, commit], cwd=cwd, capture_output=True,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"})
    return proc.returncode == 0


def _strip_history_lines(base_commit: str) -> list[str]:
    """Leave only base_commit's history: no remote, no branches, no tags but those on its own history
    (as SWE-bench, which deletes only later tags: setuptools_scm versions come from them)."""
    commit = _quote(base_commit)
    return [
        "git remote remove origin 2>/dev/null || true",
        "git for-each-ref --format='%(refname)' | while read -r ref; do case \"$ref\" in refs/tags/*) "
        f"git merge-base --is-ancestor \"$ref\" {commit} 2>/dev/null && continue;; esac; git update-ref -d \"$ref\"; done",
        f"git checkout -q -B main {_quote(base_commit)} --",
        "git reflog expire --expire=now --all",
        "git gc -q --prune=now 2>/dev/null || true",
    ]


def _prepare_local_repo(source: str, base_commit: str, target: Path) -> None:
    """Clone a local mirror (a clone or a bare directory) into ``target`` at ``base_commit``."""
    src = Path(source)
    if not src.exists():
        raise SwegymError(f"repository source {src} does not exist; pass --repo-source owner/name=PATH")
    check_commit(base_commit)
    _git(["clone", "-q", "--no-checkout", "--", str(src), str(target)])
    try:
        _git(["cat-file", "-e", f"{base_commit}^{{commit}}"], cwd=target)
    except SwegymError:
        raise SwegymError(f"commit {base_commit} is not in the repository source {src}; "
                          f"update the mirror (git fetch) or check the task's base_commit") from None
    _git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", base_commit, "--"], cwd=target)
    # The same steps as _strip_history_lines, as argv: nothing from the task goes through a host shell.
    _git(["remote", "remove", "origin"], cwd=target, check=False)
    refs = _git(["for-each-ref", "--format=%(refname)"], cwd=target)
    for ref in filter(None, refs.splitlines()):
        # tags on base_commit's own history stay (as SWE-bench: setuptools_scm versions come from them)
        if ref.startswith("refs/tags/") and _is_ancestor(ref, base_commit, target):
            continue
        _git(["update-ref", "-d", ref], cwd=target)
    _git(["checkout", "-q", "-B", "main", base_commit, "--"], cwd=target)
    _git(["reflog", "expire", "--expire=now", "--all"], cwd=target)
    _git(["gc", "-q", "--prune=now"], cwd=target, check=False)


def list_images(client: Any, prefix: str | None = None) -> list[Any]:
    """swegym-built layer images (optionally of one prefix)."""
    label = f"{LABEL_PREFIX}={prefix}" if prefix else LABEL_LAYER
    return client.images.list(filters={"label": label})
