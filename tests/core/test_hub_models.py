"""`--model org/name` for the hf policy and `swegym train`: resolved through huggingface_hub's cache.

The cache is huggingface_hub's real layout in a temp HF_HOME (``hub/models--org--name`` with
``blobs/``, ``snapshots/<commit>/`` symlinks into them, and ``refs/main``), holding a tiny real
model; HF_HUB_OFFLINE=1, as on a machine without the hub.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("huggingface_hub")
pytest.importorskip("transformers")

from tiny_model import make_sft_conversations, tiny_model_fixture, write_jsonl  # noqa: E402

tiny_qwen2 = tiny_model_fixture("qwen2")
COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
REPO = "swegym-test/tiny-qwen2"


def cache_model(hub_cache: Path, repo_id: str, folder: Path, commit: str = COMMIT) -> Path:
    """Put ``folder``'s files into ``hub_cache`` the way huggingface_hub stores a downloaded snapshot."""
    storage = hub_cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = storage / "snapshots" / commit
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = file.read_bytes()
        blob = storage / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / file.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (storage / "refs").mkdir(parents=True, exist_ok=True)
    (storage / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory, tiny_qwen2) -> Path:
    home = tmp_path_factory.mktemp("hf_home")
    cache_model(home / "hub", REPO, tiny_qwen2)
    return home


@pytest.fixture
def offline_hub(hf_home, monkeypatch):
    """This process's huggingface_hub pointed at the temp cache, offline (as HF_HOME/HF_HUB_OFFLINE do at import)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hf_home


def test_hub_name_resolves_to_the_cached_snapshot_offline_and_misses_are_clear(hf_home):
    code = ("import json, sys; from swegym import SwegymError; from swegym.hub import resolve_model\n"
            "out = {'path': str(resolve_model(sys.argv[1]))}\n"
            "try:\n    resolve_model(sys.argv[2], what='hf policy')\n"
            "except SwegymError as exc:\n    out['error'] = str(exc)\n"
            "print(json.dumps(out))")
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run([sys.executable, "-c", code, REPO, "swegym-test/not-cached"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["path"] == str(hf_home / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT)
    assert (Path(out["path"]) / "config.json").is_file()
    error = out["error"]
    assert error.startswith("hf policy: HF_HUB_OFFLINE=1 is set") and "swegym-test/not-cached" in error
    assert str(hf_home / "hub") in error and "hf download swegym-test/not-cached" in error


def test_hf_policy_loads_a_hub_name_from_the_cache(offline_hub):
    import swegym

    policy = swegym.create("policy", "hf", model=REPO, max_tokens=3)
    try:
        snapshot = offline_hub / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT
        assert policy._loaded.source == str(snapshot)
        reply = policy.complete([{"role": "user", "content": "Say hi."}])
        assert reply.usage.completion_tokens == 3
    finally:
        policy.close()
    with pytest.raises(swegym.SwegymError, match="no complete snapshot of 'nobody/nothing'"):
        swegym.create("policy", "hf", model="nobody/nothing")


def test_train_cli_accepts_a_hub_name(offline_hub, tmp_path):
    pytest.importorskip("torchtune")
    from click.testing import CliRunner

    from swegym.cli import cli

    data = tmp_path / "sft.jsonl"
    write_jsonl(make_sft_conversations(8, seed=1), data)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("trainer: torchtune-lora\nmax_seq_len: 128\nlora_rank: 2\nprogress: false\nsave_merged: false\n")
    res = CliRunner().invoke(cli, ["train", "--model", REPO, "--data", str(data), "-o", str(tmp_path / "out"),
                                   "--config", str(cfg), "--max-steps", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["steps"] == 1
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").is_file()
    bad = CliRunner().invoke(cli, ["train", "--model", "nobody/nothing", "--data", str(data),
                                   "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "swegym train --model: HF_HUB_OFFLINE=1 is set" in bad.output, bad.output
