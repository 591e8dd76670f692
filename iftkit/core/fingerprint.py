"""Cheap, stable identities for models and adapters, used as cache keys.

Hashing every byte of an 8B checkpoint would take minutes, so a base model is identified by
its config plus each weight file's name, size and first/last MiB; adapters are small and are
hashed in full.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
_MIB = 1 << 20


def _sample_file(h, path: Path) -> None:
    size = path.stat().st_size
    h.update(f"{path.name}:{size}".encode())
    with open(path, "rb") as f:
        h.update(f.read(_MIB))
        if size > 2 * _MIB:
            f.seek(size - _MIB)
            h.update(f.read(_MIB))


@lru_cache(maxsize=64)
def model_fingerprint(path: str) -> str:
    p = Path(path)
    h = hashlib.sha256()
    if not p.exists():  # a hub id resolved by transformers itself
        h.update(path.encode())
        return h.hexdigest()[:16]
    if p.is_file():
        _sample_file(h, p)
        return h.hexdigest()[:16]
    for name in ("config.json", "generation_config.json", "tokenizer_config.json", "chat_template.jinja"):
        if (p / name).is_file():
            h.update(name.encode() + (p / name).read_bytes())
    for f in sorted(p.iterdir()):
        if f.suffix in _WEIGHT_SUFFIXES:
            _sample_file(h, f)
    return h.hexdigest()[:16]


@lru_cache(maxsize=64)
def adapter_fingerprint(path: str) -> str:
    p = Path(path)
    h = hashlib.sha256()
    for f in sorted(p.iterdir()):
        if f.name.startswith("adapter_") and f.is_file() and f.name != "adapter_card.json":
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def json_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
