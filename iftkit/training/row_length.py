"""How long training rows are in the model's own tokens, the training.max_length that fits them, and
the rows a limit cuts.

A row's length is its prompt and answer through the chat template exactly as training tokenises
them (training/dataset.py), end-of-turn tokens included. Training cuts every row longer than
training.max_length (keep_start: the end of the answer goes, the part that teaches the model to
stop), and TRL drops a row whose prompt alone fills the limit. Both happen without a word in TRL:
the trainer counts them (`count_cut`), training warns, and the adapter card records them.

The one command (`iftkit sweep --target-file`) sizes the limit to its rows (`size_max_length`):
the longest row, rounded up to a multiple of ROUND_TO, capped at the tokenizer's context. It only
ever raises a limit; a limit the user set stays as set, with a warning when rows exceed it.
"""

import math
from dataclasses import dataclass
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.models.chat_format import chat_example_ids, chat_example_lengths
from iftkit.models.load import load_tokenizer
from iftkit.models.resolve import resolve_model
from iftkit.training.dataset import row_to_record

ROUND_TO = 64
# tokenizers without a known context say model_max_length = 1e30 (transformers' VERY_LARGE_INTEGER)
_NO_CONTEXT = 10**7
# packing strategies that split an overlong row into pieces, all trained, instead of cutting it
_SPLITTING = ("bfd_split", "wrapped")


def row_token_length(tok, row) -> int:
    """Tokens of one training row (prompt + answer), as training feeds them to the model."""
    rec = row_to_record(row)
    return len(chat_example_ids(tok, rec["prompt"], rec["completion"])["input_ids"])


@dataclass(frozen=True)
class RowLengths:
    """Training rows measured against a max_length."""

    rows: int
    longest: int
    cut: int  # rows longer than the limit
    limit: int

    def card(self) -> dict:
        return {"truncated_rows": self.cut, "max_length": self.limit, "longest_row_tokens": self.longest}

    def warning(self) -> Optional[str]:
        if not self.cut:
            return None
        return (f"Warning: {self.cut} of {self.rows} training rows are longer than training.max_length="
                f"{self.limit} tokens and were cut; raise training.max_length (longest row {self.longest} tokens)")


def measure(lengths: list[int], limit: int) -> RowLengths:
    return RowLengths(len(lengths), max(lengths, default=0), sum(n > limit for n in lengths), limit)


def count_cut(dataset, limit: Optional[int], packing: bool = False, strategy: str = "bfd") -> Optional[RowLengths]:
    """The tokenised training set (input_ids) against the limit training cuts it to; None when the
    dataset is not one iftkit tokenised (a map-style Dataset with input_ids) or nothing cuts it."""
    columns = getattr(dataset, "column_names", None) or []
    if not limit or "input_ids" not in columns or not hasattr(dataset, "with_format"):
        return None
    import pyarrow.compute as pc

    lengths = pc.list_value_length(dataset.with_format("arrow")["input_ids"]).to_pylist()
    measured = measure(lengths, limit)
    if packing and strategy in _SPLITTING:  # nothing is dropped: the overflow trains in another sequence
        return RowLengths(measured.rows, measured.longest, 0, limit)
    return measured


@dataclass(frozen=True)
class Sizing:
    max_length: int  # the limit training should use
    line: str  # "training.max_length: N (longest training row M tokens ...)", or a warning
    raised: bool = False  # max_length is above the value it started from


def model_context(tok) -> Optional[int]:
    n = getattr(tok, "model_max_length", None)
    return int(n) if isinstance(n, int) and 0 < n < _NO_CONTEXT else None


def size_max_length(lengths: list[int], current: int, user_set: Optional[str] = None,
                    context: Optional[int] = None) -> Sizing:
    """The training.max_length for rows of these token lengths, starting from `current`.

    user_set: where `current` comes from when it may not be changed (e.g. "set by --training.max_length"),
    or None when it is only a default this command may raise. A value that stays is never lowered either:
    rows above it are a warning naming the limit that fits."""
    m = measure(lengths, current)
    what = f"longest training row {m.longest} tokens of {m.rows}"
    if not m.cut:
        return Sizing(current, f"training.max_length: {current} ({what}: every row fits)")
    fits = math.ceil(m.longest / ROUND_TO) * ROUND_TO
    if user_set:
        return Sizing(current, f"Warning: training.max_length: {current} ({user_set}; {what}): {m.cut} of {m.rows} "
                               f"rows will be cut; raise training.max_length to {fits}")
    sized = max(current, min(fits, context)) if context else fits
    line = f"training.max_length: {sized} ({what}, rounded up to a multiple of {ROUND_TO}; raised from {current})"
    if sized < fits:
        line += (f"; capped at the model's context of {context} tokens: {measure(lengths, sized).cut} of {m.rows} "
                 f"rows will be cut")
    return Sizing(sized, line, raised=sized > current)


def rows_in_tokens(rows, model_cfg) -> tuple[list[int], Optional[int]]:
    """Token lengths of these rows with the recipe model's tokenizer (loaded as training loads it), and
    the model's context where the tokenizer knows it. A model not here is an IftkitError."""
    tok = load_tokenizer(resolve_model(model_cfg.id, model_cfg.revision),
                         trust_remote_code=bool(model_cfg.trust_remote_code))
    records = [row_to_record(r) for r in rows]
    return chat_example_lengths(tok, [(r["prompt"], r["completion"]) for r in records]), model_context(tok)


def unchecked(current: int, why) -> Sizing:
    return Sizing(current, f"training.max_length: {current} (not checked against the training rows: "
                           f"the model's tokenizer is not here: {why})")


def size_for_rows(rows, model_cfg, current: int, user_set: Optional[str] = None) -> Sizing:
    """size_max_length for these rows in the recipe model's tokens; a model not here leaves the limit as
    it is, and the line says so."""
    try:
        lengths, context = rows_in_tokens(rows, model_cfg)
    except IftkitError as exc:
        return unchecked(current, exc)
    return size_max_length(lengths, current, user_set, context)
