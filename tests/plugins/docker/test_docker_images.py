"""Task images: demo images build offline and are cached, specs drive rebuilds, local mirrors work."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

import swegym
from swegym import SwegymError, Task
from swegym_docker.images import _prepare_local_repo, nearest_suite, published_image, python_plan

SWEGYM = str(Path(sys.executable).with_name("swegym"))
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}


def _git(args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True).stdout.strip()


# -- no Docker needed ---------------------------------------------------------------------------

def test_published_image_names():
    gym = Task(instance_id="getmoto__moto-5752", repo="getmoto/moto", base_commit="x")
    bench = Task(instance_id="django__django-11099", repo="django/django", base_commit="x")
    assert published_image(gym) == "xingyaoww/sweb.eval.x86_64.getmoto_s_moto-5752:latest"
    assert published_image(bench) == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    assert published_image(bench, "mirror.local/sb") == "mirror.local/sb/sweb.eval.x86_64.django_1776_django-11099:latest"
    mixed = Task(instance_id="Project-MONAI__MONAI-1234", repo="Project-MONAI/MONAI", base_commit="x")
    assert published_image(mixed).startswith("xingyaoww/sweb.eval.x86_64.project-monai_s_monai-1234")


def test_python_maps_to_nearest_debian_suite():
    assert nearest_suite("3.9") == "bullseye" and nearest_suite("3.8") == "bullseye"
    assert nearest_suite("3.11") == "bookworm" and nearest_suite("3.10") == "bookworm"
    assert nearest_suite("3.12") == "trixie" and nearest_suite("3.13") == "trixie"
    assert nearest_suite(None) == "bookworm"


def test_python_source_picks_suite_and_exact_uv_version():
    assert python_plan("3.9", "auto") == ("bullseye", None)          # the suite has it exactly
    assert python_plan("3.11", "auto") == ("bookworm", None)
    assert python_plan("3.12", "auto")[1] == "3.12"                  # try uv, else the nearest suite
    assert python_plan("3.12", "debian")[1] is None
    assert python_plan("3.11", "uv") == ("bookworm", "3.11")         # uv even when the suite has it
    assert python_plan(None, "uv") == ("bookworm", None)
    with pytest.raises(SwegymError, match="python source"):
        python_plan("3.9", "conda")


def test_every_sandbox_command_takes_the_same_runtime_flags():
    from click.testing import CliRunner

    from swegym.cli import _add_plugin_commands, cli
    from swegym.cli.options import runtime_options_from_flags

    _add_plugin_commands()

    shared = {"--repo-source", "--python-source", "--installer", "--docker-host", "--base-image", "--env-spec",
              "--runtime-opt", "--sandbox-network", "--mem-limit", "--offline-network"}
    for command in (["run"], ["eval"], ["validate"], ["rft"], ["images", "build"]):
        out = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
        assert out.exit_code == 0, out.output
        missing = {flag for flag in shared if flag not in out.output}
        assert not missing, (command, missing)
    opts = runtime_options_from_flags({"runtime": "docker", "env_spec": None, "repo_source": (),
                                       "runtime_opt": ("pool_size=2", "base_url=tcp://h:2375")})
    assert opts == {"base_url": "tcp://h:2375", "pool_size": 2}


def test_local_mirror_clone_or_bare_and_missing_commit(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("one\n")
    _git(["init", "-q", "-b", "main"], src)
    _git(["add", "-A"], src)
    _git(["commit", "-qm", "one"], src)
    first = _git(["rev-parse", "HEAD"], src)
    _git(["tag", "v1.0"], src)  # on the task's history: kept (setuptools_scm reads it)
    (src / "a.txt").write_text("two\n")
    _git(["commit", "-qam", "two (the future fix)"], src)
    _git(["tag", "-a", "v2.0", "-m", "later"], src)  # after it: removed
    bare = tmp_path / "bare.git"
    _git(["clone", "-q", "--bare", str(src), str(bare)], tmp_path)
    for n, source in enumerate([src, bare]):
        out = tmp_path / f"out{n}"
        _prepare_local_repo(str(source), first, out)
        assert (out / "a.txt").read_text() == "one\n"
        assert _git(["rev-list", "--all", "--count"], out) == "1"  # no peeking at later commits
        assert _git(["remote"], out) == ""
        assert _git(["tag"], out) == "v1.0"
    with pytest.raises(SwegymError, match="not in the repository source"):
        _prepare_local_repo(str(src), "0" * 40, tmp_path / "out-missing")


# -- real engine -------------------------------------------------------------------------------

pytest_docker = pytest.mark.docker


@pytest_docker
def test_demo_images_build_and_second_build_is_cache_hit(docker_client, base_image, demo_tasks):
    rt = swegym.create("runtime", "docker", use_published=False)
    tags = [rt.ensure_image(t) for t in demo_tasks]
    assert all(docker_client.images.get(tag) for tag in tags)
    again = swegym.create("runtime", "docker", use_published=False)
    assert [again.ensure_image(t) for t in demo_tasks] == tags
    assert again.builder.built == [] and again.builder.cache_hits == len(demo_tasks)
    # a task whose tests need a third-party package got its pyproject dependencies installed
    needs_dep = [t for t in demo_tasks if t.instance_id.startswith("swegym-demo__dates")]
    for task in needs_dep:
        with again.open(task) as sb:
            r = sb.run("python -c 'import dateutil, sys; print(sys.prefix)' && git status --porcelain")
            assert r.exit_code == 0 and r.output.strip() == "/opt/swegym/venv", r.output


@pytest_docker
def test_images_build_cli_reports_cache_hit(docker_client, base_image, demo_tasks):
    out = subprocess.run([SWEGYM, "images", "build", "-d", "demo", "--instance-id", "swegym-demo__calc-1"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "swegym/sweb.eval.swegym-demo__calc-1:" in out.stdout
    assert "0 layer(s) built" in out.stderr and "1 ready" in out.stderr


@pytest.fixture
def test_prefix(docker_client):
    """A private image prefix; its images are removed (through `swegym images prune`) afterwards."""
    prefix = f"swegymtest{uuid.uuid4().hex[:8]}"
    yield prefix
    subprocess.run([SWEGYM, "images", "prune", "--image-prefix", prefix], capture_output=True, text=True, timeout=300)
    left = docker_client.images.list(filters={"label": f"swegym.prefix={prefix}"})
    assert not left, f"prune left {[i.tags for i in left]}"


@pytest_docker
def test_changed_spec_rebuilds_only_what_changed(docker_client, base_image, demo_tasks, tmp_path, test_prefix):
    task = next(t for t in demo_tasks if t.instance_id == "swegym-demo__calc-1")
    spec = tmp_path / "envs.yaml"

    def write(marker: str) -> None:
        spec.write_text("repositories:\n  swegym-demo/calc:\n    specs:\n      - install: echo " + marker +
                        " > /opt/swegym/marker\n        test_cmd: pytest -rA -q\n")

    write("v1")
    rt = swegym.create("runtime", "docker", env_spec_file=str(spec), image_prefix=test_prefix)
    first = rt.ensure_image(task)
    assert len(rt.builder.built) == 3  # base, env, instance
    write("v1")
    same = swegym.create("runtime", "docker", env_spec_file=str(spec), image_prefix=test_prefix)
    assert same.ensure_image(task) == first and same.builder.built == []
    write("v2")
    changed = swegym.create("runtime", "docker", env_spec_file=str(spec), image_prefix=test_prefix)
    second = changed.ensure_image(task)
    assert second != first and changed.builder.built == [second]  # base and env reused
    with changed.open(task) as sb:
        assert sb.run("cat /opt/swegym/marker").output == "v2\n"
    ls = subprocess.run([SWEGYM, "images", "ls", "--image-prefix", test_prefix, "--json"], capture_output=True,
                        text=True, timeout=60)
    assert ls.returncode == 0 and ls.stdout.count('"layer": "instance"') == 2


@pytest.fixture(scope="module")
def six_mirror(tmp_path_factory):
    """A real open-source repository (six 1.16.0 from its PyPI sdist) as a local git mirror."""
    root = tmp_path_factory.mktemp("six")
    cache = Path(os.environ.get("SWEGYM_CACHE") or Path.home() / ".cache" / "swegym") / "test-sdists"
    sdists = list(cache.glob("six-1.16.0.tar.gz"))
    if not sdists:  # the package index is the only network this machine has; fetch once
        cache.mkdir(parents=True, exist_ok=True)
        dl = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                             "six==1.16.0", "-d", str(cache)], capture_output=True, text=True, timeout=300)
        sdists = list(cache.glob("six-1.16.0.tar.gz"))
        if dl.returncode or not sdists:
            pytest.skip(f"cannot download the six sdist from the package index: {dl.stderr[-300:]}")
    with tarfile.open(sdists[0]) as tar:
        tar.extractall(root, filter="data")
    repo = root / "six-1.16.0"
    _git(["init", "-q", "-b", "main"], repo)
    _git(["add", "-A"], repo)
    _git(["commit", "-qm", "six 1.16.0"], repo)
    return repo, _git(["rev-parse", "HEAD"], repo)


@pytest_docker
def test_local_mirror_builds_real_repository(docker_client, base_image, six_mirror):
    repo, commit = six_mirror  # a fresh commit hash each run, so the instance layer really builds
    task = Task(instance_id="benjaminp__six-0001", repo="benjaminp/six", base_commit=commit, version="1.16")
    rt = swegym.create("runtime", "docker", repo_sources={"benjaminp/six": repo}, use_published=False)
    tag = rt.ensure_image(task)
    try:
        assert tag.startswith("swegym/sweb.eval.benjaminp__six-0001:") and tag in rt.builder.built
        with rt.open(task) as sb:
            r = sb.run("python -c 'import six; print(six.__version__, six.__file__)'")
            assert r.output.split() == ["1.16.0", "/testbed/six.py"]
            tests = sb.run("python -m pytest -q -x test_six.py 2>&1 | tail -1", timeout=300)
            assert " passed" in tests.output and "failed" not in tests.output, tests.output
            # what the install wrote (egg-info, even a committed one) is not the agent's change
            assert sb.run("git status --porcelain").output == "" and sb.diff() == ""
            sb.run("echo '# agent edit' >> six.py && touch scratch.py")
            assert "+# agent edit" in sb.diff() and "scratch.py" in sb.diff()
            sb.reset()
            assert sb.run("git status --porcelain").output == "" and sb.diff() == ""
            assert sb.run("git log --oneline | wc -l").output.strip() == "1"
    finally:
        docker_client.images.remove(tag, force=True)
