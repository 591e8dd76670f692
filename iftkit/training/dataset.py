"""Rows -> the conversational prompt-completion records SFTTrainer trains on.

The prompt keeps its chat messages (system + user) and the completion becomes one
assistant message. `tokenize_records` turns them into input_ids + completion_mask with the
model's chat template, the prompt part being exactly the ids eval feeds the model
(models/chat_format.py), and the completion tokens the ones that carry loss when
completion_only_loss is on.
"""

from pathlib import Path

from iftkit.core.errors import IftkitError
from iftkit.data.rows import Row, read_rows
from iftkit.models.chat_format import chat_example_ids


def row_to_record(row: Row) -> dict:
    return {"prompt": row.prompt, "completion": [{"role": "assistant", "content": row.completion}]}


def rows_to_dataset(rows: list[Row]):
    from datasets import Dataset

    return Dataset.from_list([row_to_record(r) for r in rows])


def tokenize_records(dataset, tokenizer):
    """Conversational prompt-completion records -> input_ids + completion_mask (chat_format.chat_example_ids);
    any other dataset (already tokenised, plain text) is returned as it is, for TRL to handle."""
    columns = dataset.column_names or []
    if "input_ids" in columns or "prompt" not in columns or "completion" not in columns:
        return dataset
    first = next(iter(dataset))
    if not isinstance(first["prompt"], list):
        return dataset
    return dataset.map(
        lambda ex: chat_example_ids(tokenizer, ex["prompt"], ex["completion"]),
        remove_columns=["prompt", "completion"],
        desc="Tokenizing with the chat template",
    )


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
