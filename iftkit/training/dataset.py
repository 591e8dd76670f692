"""Rows -> the conversational prompt-completion records TRL's SFTTrainer tokenises.

The prompt keeps its chat messages (system + user) and the completion becomes one
assistant message, so TRL applies the model's chat template and knows exactly which
tokens are the completion (the ones that carry loss when completion_only_loss is on).
"""

from pathlib import Path

from iftkit.data.rows import Row, read_rows
from iftkit.errors import IftkitError


def row_to_record(row: Row) -> dict:
    return {"prompt": row.prompt, "completion": [{"role": "assistant", "content": row.completion}]}


def rows_to_dataset(rows: list[Row]):
    from datasets import Dataset

    return Dataset.from_list([row_to_record(r) for r in rows])


def load_split(mix_dir, split: str, required: bool = True):
    """Dataset for `mix_dir/<split>.jsonl`, or None when an optional split is missing/empty."""
    path = Path(mix_dir) / f"{split}.jsonl"
    if not path.is_file():
        if required:
            raise IftkitError(
                f"mix dir {mix_dir}: {split}.jsonl not found (build the mix with `iftkit data mix` or drop --mix-dir)"
            )
        return None
    rows = read_rows(path)
    if not rows:
        if required:
            raise IftkitError(f"{path}: no rows to train on")
        return None
    return rows_to_dataset(rows)
