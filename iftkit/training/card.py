"""The adapter card: what produced an adapter, in JSON (for tools) and a short README (for people).

The card is written last, atomically, with status "complete": its presence is what tells a
rerun that the adapter is finished.
"""

import json
import subprocess
from pathlib import Path
from typing import Optional

from iftkit.core import atomic
from iftkit.core.errors import IftkitError
from iftkit.core.provenance import hardware, library_versions  # noqa: F401  (re-exported for the card)

CARD_NAME = "adapter_card.json"
README_NAME = "README.md"


def git_commit(cwd: Optional[Path] = None) -> Optional[str]:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd or Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=cwd or Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return res.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def write_json_atomic(path: Path, data: dict) -> None:
    atomic.write_json_atomic(path, data, indent=2, sort_keys=True, default=str)


def read_card(adapter_dir) -> Optional[dict]:
    path = Path(adapter_dir) / CARD_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise IftkitError(f"{path}: corrupt adapter card ({exc.msg} at line {exc.lineno})") from None


def is_complete(adapter_dir) -> bool:
    card = read_card(adapter_dir)
    return bool(card) and card.get("status") == "complete"


def write_card(adapter_dir, card: dict) -> None:
    adapter_dir = Path(adapter_dir)
    (adapter_dir / README_NAME).write_text(render_readme(card))
    write_json_atomic(adapter_dir / CARD_NAME, card)


def _fmt(v, nd=4):
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def _format_lines(fmt) -> list[str]:
    if not fmt:
        return []
    return [
        f"Conversation format: {fmt}, saved as this directory's chat template "
        "(`tokenizer.apply_chat_template` renders it; the adapter was trained and scored in it).",
        "",
    ]


def _cut_rows_line(card: dict) -> list[str]:
    if card.get("truncated_rows") is None:
        return []
    return [f"| rows cut at max_length | {card['truncated_rows']} (max_length {card.get('max_length')}, "
            f"longest row {card.get('longest_row_tokens')} tokens) |"]


def render_readme(card: dict) -> str:
    data = card.get("data") or {}
    wb = card.get("wandb") or {}
    amount = (
        f"target_count = {card['target_count']}"
        if card.get("target_count") is not None
        else f"target_ratio = {card.get('target_ratio')}"
    )
    lines = [
        f"# LoRA adapter: {card['recipe']['name']}",
        "",
        f"Base model `{card['base_model']}` specialised on task "
        f"`{card['target_task']}` ({amount}, seed {card['seed']}), "
        f"trained with iftkit ({card['method']}).",
        "",
        *_format_lines(card.get("prompt_format")),
        "| field | value |",
        "|---|---|",
        f"| train loss | {_fmt(card.get('train_loss'))} |",
        f"| val loss | {_fmt(card.get('val_loss'))} |",
        f"| steps | {card.get('global_step')} |",
        f"| tokens seen | {card.get('tokens_seen')} |",
        f"| wall time (s) | {_fmt(card.get('wall_time_s'), 1)} |",
        f"| training rows | {(data.get('counts') or {}).get('train')} |",
        *_cut_rows_line(card),
        f"| recipe hash | `{card.get('recipe_hash')}` |",
        f"| git commit | `{card.get('git_commit')}` |",
        f"| W&B run | {wb.get('project', '-')}/{wb.get('run_id', '-')} ({wb.get('mode', 'disabled')}) |",
        "",
        "Load it:",
        "",
        "```python",
        "from peft import AutoPeftModelForCausalLM",
        'model = AutoPeftModelForCausalLM.from_pretrained("<this directory>")',
        "```",
        "",
        "Full provenance (resolved recipe, data hashes, library versions) is in `adapter_card.json`.",
        "",
    ]
    return "\n".join(lines)
