"""Answers that show a broken model or tokenizer setup: empty, or mostly one repeated piece.

A model fed the wrong special tokens (no BOS for Gemma, a missing chat template) does not fail:
it answers `<h2><h2><h2>…` or nothing, and a sweep scores those answers for hours. Smoke, eval's
summary and the sweep report count such answers and say so in one line, naming the model.

"Mostly one repeated piece": runs of a piece of 1 to 32 characters repeated at least 4 times in a
row cover at least 60 % of the answer (`<h2><h2><h2><h2>`, `the the the the`, `!!!!!!!!`).
Runs of digits alone do not count (`1000000` is a number, not a stuck model).
"""

import re
from typing import Optional

MIN_REPEATS = 4
MIN_COVER = 0.6
MIN_LENGTH = 8  # shorter answers ("0000" is a plausible label) are not judged by repetition
# a share of degenerate answers at or above this is worth a warning: a working model has almost none
WARN_SHARE = 0.2

_RUN = re.compile(r"(.{1,32}?)\1{%d,}" % (MIN_REPEATS - 1), re.DOTALL)


def is_degenerate(text: Optional[str]) -> bool:
    """Empty (or only whitespace), or mostly one piece repeated."""
    text = (text or "").strip()
    if not text:
        return True
    if len(text) < MIN_LENGTH:
        return False
    # a space after the last piece, so "word word word word" repeats "word " four times
    covered = sum(m.end() - m.start() for m in _RUN.finditer(text + " ") if not m.group(1).strip().isdigit())
    return covered >= MIN_COVER * (len(text) + 1)


def count_degenerate(texts) -> tuple[int, int]:
    """(degenerate answers, answers); an answer that never came (None) counts as empty."""
    texts = list(texts)
    return sum(is_degenerate(t) for t in texts), len(texts)


def warning_line(model: str, texts, where: str = "") -> Optional[str]:
    """One warning line when at least WARN_SHARE of `texts` are degenerate, else None."""
    texts = list(texts)
    bad, n = count_degenerate(texts)
    if not n or bad < WARN_SHARE * n:
        return None
    example = next((t for t in texts if is_degenerate(t) and (t or "").strip()), "")
    shown = f" (e.g. {example.strip()[:40]!r})" if example else ""
    return (
        f"warning: {model}: {bad} of {n} answers{where} are empty or one repeated piece{shown}; "
        "the model or its tokenizer setup is likely broken (BOS, chat template, end tokens): "
        "check `iftkit smoke` before spending a sweep on it"
    )


def degenerate_warnings(records) -> list[str]:
    """A warning line per model (eval's SampleRecords) whose answers are degenerate often enough."""
    by_model: dict = {}
    for r in records:
        if getattr(r, "likelihood", None) is None:  # a likelihood record generated nothing: no answer to judge
            by_model.setdefault(r.model, []).append(r.prediction)
    lines = [warning_line(model, preds) for model, preds in by_model.items()]
    return [line for line in lines if line]
