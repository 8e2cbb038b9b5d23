"""Hugging Face datasets and models the way their users expect: by hub name, cache or folder.

Why through ``datasets``/``huggingface_hub`` and no probe of our own: they honour ``HF_ENDPOINT``,
proxies, tokens, ``HF_HUB_OFFLINE`` and their caches (an offline user whose data is cached gets
it); swegym only picks a sensible default split and turns their failures into one clear error.
Both libraries are imported lazily: ``core`` stays importable without them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

from .errors import DataError, SwegymError

# The split a user means when naming one of these datasets without --split (lowercased names).
DEFAULT_SPLITS = {
    "swe-gym/swe-gym": "train",
    "swe-gym/swe-gym-lite": "train",
    "princeton-nlp/swe-bench": "test",
    "princeton-nlp/swe-bench_lite": "test",
    "princeton-nlp/swe-bench_verified": "test",
    "swe-bench/swe-bench": "test",
    "swe-bench/swe-bench_lite": "test",
    "swe-bench/swe-bench_verified": "test",
}
# Model files swegym never loads (other frameworks' formats, duplicate original checkpoints).
MODEL_IGNORE_PATTERNS = ["*.onnx", "onnx/*", "*.h5", "*.msgpack", "*.ot", "*.tflite", "openvino/*",
                         "coreml/*", "*.mlmodel", "original/*"]


def default_split(name: str) -> str | None:
    """The usual split of a known dataset, by hub name or by a folder named like it."""
    key = name.strip("/").lower()
    if key in DEFAULT_SPLITS:
        return DEFAULT_SPLITS[key]
    by_basename = {k.split("/")[-1]: v for k, v in DEFAULT_SPLITS.items()}
    return by_basename.get(Path(key).name)


FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".arrow", ".csv", ".gguf", ".safetensors", ".bin", ".pt", ".yaml")


def looks_like_repo_id(text: str) -> bool:
    """``org/name`` (optionally ``@revision``): one slash, no path-like start, no file suffix, not on disk.

    (Dots are fine: ``Qwen/Qwen2.5-7B-Instruct``.)
    """
    name = text.split("@", 1)[0]
    return (name.count("/") == 1 and all(name.split("/")) and not name.startswith((".", "~", "/"))
            and not name.lower().endswith(FILE_SUFFIXES) and not Path(text).expanduser().exists())


def _import_datasets(label: str) -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError(f"loading {label} needs the `datasets` package: pip install 'swegym[datasets]'") from None
    datasets.utils.logging.set_verbosity_error()  # its "using the cached version" warnings are not errors
    return datasets


def _offline_hint(name: str) -> str:
    return (f"Either make the hub reachable (check HF_ENDPOINT, HTTPS_PROXY, HF_HUB_OFFLINE=0), or load it "
            f"once where it is (it then stays in the datasets cache, also offline), or download it elsewhere "
            f"and pass a local copy: `swegym tasks -d path/to/{name.split('/')[-1]}.jsonl` (.json, .jsonl, "
            f".parquet, a folder of parquet shards, or a save_to_disk folder).")


def _pick_split(dsets: Any, split: str | None, default: str | None, label: str) -> Any:
    """One split of a DatasetDict: the asked one, else the dataset's usual one, else the only one."""
    names = list(dsets.keys())
    for want in (split, default):
        if want is not None:
            if want in dsets:
                return dsets[want]
            if want == split:
                raise DataError(f"has no split {split!r}; its splits are: {', '.join(names)} (pass --split)",
                                path=label)
    if len(names) == 1:
        return dsets[names[0]]
    raise DataError(f"has several splits ({', '.join(names)}); pass --split to pick one", path=label)


def rows_from_hub(name: str, split: str | None) -> Iterator[tuple[int, Any]]:
    """Rows of hub dataset ``name`` (from the hub, or from the datasets cache when offline)."""
    datasets = _import_datasets(f"the hub dataset {name!r}")
    from datasets.exceptions import DatasetNotFoundError

    want = split or default_split(name)
    label = f"{name} (split {want})" if want else name
    try:
        loaded = datasets.load_dataset(name, split=want)
    except ConnectionError as exc:
        offline = _hub_offline()
        why = "HF_HUB_OFFLINE=1 is set" if offline else f"the hub ({_hub_endpoint()}) could not be reached ({exc})"
        raise DataError(f"{why}, and {name!r} is not in the datasets cache ({datasets.config.HF_DATASETS_CACHE}). "
                        f"{_offline_hint(name)}", path=label) from None
    except DatasetNotFoundError as exc:
        raise DataError(f"{exc} (a private or gated dataset needs `hf auth login` or HF_TOKEN). "
                        f"{_offline_hint(name)}", path=label) from None
    except ValueError as exc:  # unknown split, or several cached configurations
        raise DataError(f"{exc}", path=label) from None
    except Exception as exc:  # noqa: BLE001 - anything else from the hub or the cache, said once
        raise DataError(f"could not load it: {type(exc).__name__}: {exc}. {_offline_hint(name)}", path=label) from None
    if hasattr(loaded, "keys"):  # no known default split: all were loaded
        loaded = _pick_split(loaded, split, None, name)
    yield from enumerate(loaded, start=1)


def rows_from_folder(folder: Path, split: str | None) -> Iterator[tuple[int, Any]]:
    """Rows of a local dataset folder: ``save_to_disk`` output, or data files (parquet/jsonl shards).

    Shard names give the splits as on the hub (``data/test-00000-of-00001.parquet``).
    """
    label = str(folder)
    datasets = _import_datasets(f"the dataset folder {label}")
    default = default_split(folder.name)
    try:
        if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
            loaded = datasets.load_from_disk(str(folder))
        else:
            loaded = datasets.load_dataset(str(folder))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(f"not a dataset folder ({exc}); pass a save_to_disk folder, a folder of .parquet/.jsonl "
                        f"shards, or a single .json/.jsonl/.parquet file", path=label) from None
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"could not load it: {type(exc).__name__}: {exc}", path=label) from None
    if hasattr(loaded, "keys"):
        loaded = _pick_split(loaded, split, default, label)
    yield from enumerate(loaded, start=1)


# -- models -----------------------------------------------------------------------------------


def _hub_offline() -> bool:
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:
        return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _hub_endpoint() -> str:
    try:
        from huggingface_hub import constants

        return constants.ENDPOINT
    except ImportError:
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def resolve_model(model: str | os.PathLike[str], *, what: str = "model") -> Path:
    """A local folder/file for ``model``: a path as given, or a hub ``org/name[@revision]`` snapshot.

    The hub snapshot comes from the huggingface_hub cache when it is there (always so with
    HF_HUB_OFFLINE=1, and when the hub is unreachable), else it is downloaded (with progress).
    """
    text = str(model)
    path = Path(text).expanduser()
    if path.exists():
        return path
    if not looks_like_repo_id(text):
        raise SwegymError(f"{what}: {text!r} is neither an existing file or folder nor a hub name such as "
                          f"'Qwen/Qwen2.5-7B-Instruct'")
    repo_id, _, revision = text.partition("@")
    try:
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub import errors as hub_errors
    except ImportError:
        raise SwegymError(f"{what}: {text!r} is a hub name; resolving it needs huggingface_hub: "
                          f"pip install 'swegym[hf]' (or pass a local folder)") from None
    try:
        return Path(snapshot_download(repo_id, revision=revision or None, ignore_patterns=MODEL_IGNORE_PATTERNS))
    except hub_errors.LocalEntryNotFoundError as exc:
        why = ("HF_HUB_OFFLINE=1 is set" if constants.HF_HUB_OFFLINE
               else f"the hub ({constants.ENDPOINT}) could not be reached")
        detail = str(exc).splitlines()[0]
        raise SwegymError(f"{what}: {why}, and no complete snapshot of {text!r} is in the hub cache "
                          f"({constants.HF_HUB_CACHE}): {detail}. Download it where the hub is reachable "
                          f"(`hf download {repo_id}`, same HF_HOME), or pass a local folder.") from None
    except (hub_errors.RepositoryNotFoundError, hub_errors.RevisionNotFoundError) as exc:
        raise SwegymError(f"{what}: {text!r} not found on the hub ({str(exc).splitlines()[0]}); a private or "
                          f"gated model needs `hf auth login` or HF_TOKEN") from None
    except (OSError, ValueError) as exc:  # incomplete snapshot, disk full, bad name ...
        raise SwegymError(f"{what}: could not get {text!r} from the hub: {type(exc).__name__}: {exc}") from None


__all__ = ["DEFAULT_SPLITS", "default_split", "looks_like_repo_id", "resolve_model", "rows_from_folder",
           "rows_from_hub"]
