"""Hugging Face datasets and models by name, from a real cache in a temporary HF_HOME, offline.

The dataset cache is written by ``datasets``' own Parquet builder with the arguments
``load_dataset("org/name")`` gives it for a parquet-only hub repository (repo_id, snake-cased
dataset name, commit hash, config ``default``): the same folders and files a download leaves.
The model cache is huggingface_hub's layout (``models--org--name/{blobs,snapshots/<sha>,refs/main}``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swegym import DataError, load_tasks
from swegym.hub import default_split, looks_like_repo_id

pytest.importorskip("datasets")

SWEGYM = [sys.executable, "-m", "swegym.cli"]
SHA = "0123456789abcdef0123456789abcdef01234567"
BUILD_CACHE = r'''
import json, sys
import datasets
from datasets.data_files import DataFilesDict
from datasets.naming import camelcase_to_snakecase
from datasets.packaged_modules.parquet.parquet import Parquet

for repo_id, jsonl, split, sha, out in json.loads(sys.argv[1]):
    datasets.Dataset.from_list([json.loads(l) for l in open(jsonl)]).to_parquet(out)
    # As load_dataset(repo_id) sets up the builder for a parquet hub repo at commit `sha`:
    builder = Parquet(repo_id=repo_id, dataset_name=camelcase_to_snakecase(repo_id.split("/")[-1]), hash=sha,
                      config_name="default", base_path=f"hf://datasets/{repo_id}@{sha}")
    builder.config.data_files = DataFilesDict.from_patterns({split: [out]})
    builder.download_and_prepare()
'''


def run(*args: str, hf_home: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", **env}
    full.pop("HF_DATASETS_CACHE", None), full.pop("HF_HUB_CACHE", None)
    return subprocess.run(list(args), capture_output=True, text=True, env=full, timeout=300)


def ids(jsonl: Path) -> list[str]:
    return [json.loads(line)["instance_id"] for line in jsonl.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, shared_data) -> Path:
    """A temp HF_HOME whose datasets cache holds SWE-bench Lite (test) and SWE-Gym-Lite (train)."""
    home = tmp_path_factory.mktemp("hf_home")
    work = tmp_path_factory.mktemp("parquet")
    plan = [["princeton-nlp/SWE-bench_Lite", str(shared_data / "swe-bench-lite-sample.jsonl"), "test", SHA,
             str(work / "lite.parquet")],
            ["SWE-Gym/SWE-Gym-Lite", str(shared_data / "swegym-moto-sample.jsonl"), "train", SHA,
             str(work / "gym.parquet")]]
    built = run(sys.executable, "-c", BUILD_CACHE, json.dumps(plan), hf_home=home)
    assert built.returncode == 0, built.stderr[-3000:]
    assert (home / "datasets" / "princeton-nlp___swe-bench_lite" / "default" / "0.0.0" / SHA).is_dir()
    return home


def test_known_names_default_to_their_usual_split():
    assert default_split("princeton-nlp/SWE-bench_Lite") == "test"
    assert default_split("SWE-bench/SWE-bench_Verified") == "test"
    assert default_split("SWE-Gym/SWE-Gym") == default_split("swe-gym/swe-gym-lite") == "train"
    assert default_split("/data/downloads/SWE-bench_Verified") == "test"  # a folder named like the dataset
    assert default_split("someone/else") is None
    assert looks_like_repo_id("Qwen/Qwen2.5-7B-Instruct") and looks_like_repo_id("org/name@v1.0")
    assert not looks_like_repo_id("./a/b") and not looks_like_repo_id("a/b.jsonl") and not looks_like_repo_id("a/b/c")


def test_cached_hub_datasets_load_offline_with_their_default_split(hub_cache, shared_data):
    lite = run(*SWEGYM, "tasks", "-d", "princeton-nlp/SWE-bench_Lite", "--json", hf_home=hub_cache)
    assert lite.returncode == 0, lite.stderr
    assert [t["instance_id"] for t in json.loads(lite.stdout)] == ids(shared_data / "swe-bench-lite-sample.jsonl")
    gym = run(*SWEGYM, "tasks", "-d", "SWE-Gym/SWE-Gym-Lite", "--json", hf_home=hub_cache)
    assert gym.returncode == 0, gym.stderr
    assert [t["instance_id"] for t in json.loads(gym.stdout)] == ids(shared_data / "swegym-moto-sample.jsonl")
    wrong = run(*SWEGYM, "tasks", "-d", "princeton-nlp/SWE-bench_Lite", "--split", "dev", hf_home=hub_cache)
    assert wrong.returncode == 2 and "princeton-nlp/SWE-bench_Lite (split dev)" in wrong.stderr, wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_uncached_hub_dataset_offline_is_one_clear_data_error(hub_cache):
    out = run(*SWEGYM, "tasks", "-d", "SWE-bench/SWE-bench_Verified", hf_home=hub_cache)
    assert out.returncode == 2, out.stderr
    assert "HF_HUB_OFFLINE=1" in out.stderr and str(hub_cache / "datasets") in out.stderr
    assert "(split test)" in out.stderr and ".jsonl" in out.stderr and "Traceback" not in out.stderr


# -- folders ------------------------------------------------------------------------------------


@pytest.fixture
def rows(shared_data, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "datasets-cache"))
    return [json.loads(line) for line in (shared_data / "swe-bench-lite-sample.jsonl").read_text().splitlines()]


def test_save_to_disk_folders_load(rows, tmp_path):
    import datasets

    both = datasets.DatasetDict({"test": datasets.Dataset.from_list(rows[:6]),
                                 "dev": datasets.Dataset.from_list(rows[6:])})
    both.save_to_disk(tmp_path / "SWE-bench_Lite")
    assert [t.instance_id for t in load_tasks(str(tmp_path / "SWE-bench_Lite"))] == [r["instance_id"] for r in rows[:6]]
    assert len(load_tasks(str(tmp_path / "SWE-bench_Lite"), split="dev")) == 4
    both.save_to_disk(tmp_path / "mine")
    with pytest.raises(DataError, match=r"several splits \(test, dev\); pass --split"):
        load_tasks(str(tmp_path / "mine"))
    datasets.Dataset.from_list(rows).save_to_disk(tmp_path / "one")
    assert len(load_tasks(str(tmp_path / "one"))) == 10


def test_parquet_shard_folders_load_like_a_hub_snapshot(rows, tmp_path):
    import datasets

    folder = tmp_path / "SWE-bench_Verified" / "data"
    folder.mkdir(parents=True)
    datasets.Dataset.from_list(rows[:3]).to_parquet(folder / "test-00000-of-00002.parquet")
    datasets.Dataset.from_list(rows[3:7]).to_parquet(folder / "test-00001-of-00002.parquet")
    datasets.Dataset.from_list(rows[7:]).to_parquet(folder / "dev-00000-of-00001.parquet")
    tasks = load_tasks(str(folder.parent))
    assert [t.instance_id for t in tasks] == [r["instance_id"] for r in rows[:7]]
    assert tasks[0].FAIL_TO_PASS == json.loads(rows[0]["FAIL_TO_PASS"])
    with pytest.raises(DataError, match=r"has no split 'train'; its splits are"):
        load_tasks(str(folder.parent), split="train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=str(tmp_path / "empty")):
        load_tasks(str(tmp_path / "empty"))
