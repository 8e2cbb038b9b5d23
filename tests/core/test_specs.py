"""The environment spec table: lookups, defaults, user files, hashes, and agreement with the tasks we ship."""
from __future__ import annotations

import json

import pytest

from swegym import DataError
from swegym.specs import EnvSpec, get_spec, known_repositories

SWEGYM_REPOS = ["pandas-dev/pandas", "Project-MONAI/MONAI", "getmoto/moto", "python/mypy", "iterative/dvc", "dask/dask",
                "modin-project/modin", "pydantic/pydantic", "conan-io/conan", "facebookresearch/hydra", "bokeh/bokeh"]
LITE_REPOS = ["astropy/astropy", "django/django", "matplotlib/matplotlib", "mwaskom/seaborn", "pallets/flask",
              "psf/requests", "pydata/xarray", "pylint-dev/pylint", "pytest-dev/pytest", "scikit-learn/scikit-learn",
              "sphinx-doc/sphinx", "sympy/sympy"]


def test_table_covers_swegym_and_swebench_lite():
    assert set(SWEGYM_REPOS + LITE_REPOS) <= set(known_repositories())
    for repo in SWEGYM_REPOS:
        assert get_spec(repo, "0").source == "SWE-Gym"
    for repo in LITE_REPOS:
        assert get_spec(repo, "1.0").source == "SWE-bench"


@pytest.mark.parametrize("repo,version,test_cmd,python", [
    ("getmoto/moto", "4.1", "pytest -n0 -rA", "3.12"),
    ("python/mypy", "1.5", "pytest -n0 -rA -k", "3.11"),
    ("python/mypy", "1.10", "pytest -rA -k", "3.12"),
    ("pydantic/pydantic", "2.7", "pytest -rA --tb=short -vv -o console_output_style=classic --no-header", "3.8"),
    ("django/django", "3.0", "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1", "3.6"),
    ("django/django", "1.9", "./tests/runtests.py --verbosity 2", "3.5"),
    ("sympy/sympy", "1.1",
     "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose", "3.9"),
    ("sphinx-doc/sphinx", "3.5", "tox --current-env -epy39 -v --", "3.9"),
    ("mwaskom/seaborn", "0.12", "pytest --no-header -rA", "3.9"),
    ("conan-io/conan", "1.59", "pytest -n0 -rA", "3.10"),
])
def test_known_specs(repo, version, test_cmd, python):
    spec = get_spec(repo, version)
    assert spec.test_cmd == test_cmd and spec.python == python and not spec.approximate


def test_shared_samples_resolve(shared_data):
    for name in ("swegym-moto-sample.jsonl", "swe-bench-lite-sample.jsonl"):
        for line in (shared_data / name).read_text().splitlines():
            row = json.loads(line)
            spec = get_spec(row["repo"], row["version"])
            assert spec.source in ("SWE-Gym", "SWE-bench") and spec.test_cmd and spec.install, row["instance_id"]


def test_unknown_repo_gets_default_python_spec():
    spec = get_spec("someone/project", "0.3")
    assert spec.source == "default" and spec.test_cmd == "pytest -rA"
    assert "pip install -e ." in spec.install and spec.pip_packages == ["pytest"]


def test_unlisted_version_uses_nearest_lower(tmp_path):
    spec = get_spec("getmoto/moto", "9.9")
    assert spec.approximate and spec.python == "3.12"
    assert get_spec("python/mypy", "0.999").python == "3.10"  # nearest lower listed is 0.990


def test_user_spec_file_overrides_and_adds(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("repositories:\n"
                 "  me/tool:\n    specs:\n      - versions: ['1.0']\n        python: '3.11'\n"
                 "        install: pip install .\n        test_cmd: python -m unittest -v\n        env: {A: 1}\n"
                 "  getmoto/moto:\n    specs:\n      - install: echo custom\n        test_cmd: pytest -x\n")
    mine = get_spec("me/tool", "1.0", f)
    assert mine.test_cmd == "python -m unittest -v" and mine.env == {"A": "1"} and mine.source == str(f)
    assert get_spec("getmoto/moto", "4.1", f).install == "echo custom"
    assert get_spec("python/mypy", "1.5", f).source == "SWE-Gym"  # the shipped table still answers


def test_hashes_follow_content():
    a = EnvSpec(repo="r/x", version="1", install="pip install -e .", pip_packages=["pytest"])
    b = EnvSpec(repo="r/x", version="1", install="pip install -e .", pip_packages=["pytest"])
    c = EnvSpec(repo="r/x", version="1", install="pip install .", pip_packages=["pytest"])
    assert a.env_hash() == b.env_hash() == c.env_hash()
    assert a.instance_hash() == b.instance_hash() != c.instance_hash()
    assert EnvSpec(repo="r/x", version="1", pip_packages=["numpy"]).env_hash() != a.env_hash()


@pytest.mark.parametrize("text,match", [
    ("repositories:\n  me/tool:\n    specs:\n      - pyhton: '3.9'\n", "unknown field"),
    ("repositories:\n  me/tool:\n    specs:\n      - pre_install: 3\n", "list of strings"),
    ("repositories: [1, 2\n", "not valid YAML"),
])
def test_bad_spec_file_is_a_clear_error(tmp_path, text, match):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        get_spec("me/tool", "1", f)
    assert str(f) in str(info.value)


def test_missing_spec_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        get_spec("me/tool", "1", tmp_path / "nope.yaml")
