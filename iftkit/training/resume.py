"""Find where an interrupted run can resume: the newest checkpoint that was written completely.

The Trainer writes a checkpoint's files one by one and `trainer_state.json` last, so a
kill -9 during a save leaves a directory without (or with a truncated) trainer state;
`transformers.get_last_checkpoint` would pick it and the resume would crash. Such
directories are skipped here, and removed by the main process so checkpoint rotation
never counts them.
"""

import json
import re
import shutil
from pathlib import Path
from typing import Optional

_CKPT = re.compile(r"^checkpoint-(\d+)$")


def _is_complete(ckpt: Path) -> bool:
    try:
        json.loads((ckpt / "trainer_state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return False
    return (ckpt / "adapter_model.safetensors").is_file() or (ckpt / "model.safetensors").is_file()


def checkpoint_step(ckpt) -> int:
    return int(_CKPT.match(Path(ckpt).name).group(1))


def last_complete_checkpoint(checkpoint_dir, remove_incomplete: bool = False) -> Optional[Path]:
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return None
    ckpts = sorted((p for p in root.iterdir() if p.is_dir() and _CKPT.match(p.name)), key=checkpoint_step, reverse=True)
    for ckpt in ckpts:
        if _is_complete(ckpt):
            return ckpt
        if remove_incomplete:
            shutil.rmtree(ckpt, ignore_errors=True)
    return None
