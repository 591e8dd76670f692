"""Fold a LoRA adapter into its base model: full weights that load with plain transformers."""

import os
import shutil
import tempfile
from pathlib import Path

from iftkit.core.errors import IftkitError
from iftkit.models.resolve import resolve_model
from iftkit.training.card import read_card


def adapter_base_path(adapter_dir: Path) -> str:
    """Where the base model is: the card's resolved path if it still exists, else its recipe id."""
    card = read_card(adapter_dir) or {}
    local = card.get("base_model_path")
    if local and Path(local).is_dir():
        return local
    if card.get("base_model"):
        return resolve_model(card["base_model"])
    import json

    cfg = adapter_dir / "adapter_config.json"
    return resolve_model(json.loads(cfg.read_text())["base_model_name_or_path"])


def merge_adapter(adapter_dir, out_dir, dtype: str = "float32") -> Path:
    """Merge the adapter into a full-precision copy of its base; write it atomically to out_dir."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise IftkitError(f"{adapter_dir}: not a LoRA adapter directory (no adapter_config.json)")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise IftkitError(f"--out {out_dir}: directory exists and is not empty")
    # a QLoRA adapter merges into the unquantised base: merging into 4-bit weights would round them
    base = AutoModelForCausalLM.from_pretrained(adapter_base_path(adapter_dir), dtype=getattr(torch, dtype))
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    tok = AutoTokenizer.from_pretrained(str(adapter_dir))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        for extra in ("adapter_card.json", "README.md"):
            if (adapter_dir / extra).is_file():
                shutil.copy2(adapter_dir / extra, tmp / ("merged_from_" + extra))
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
