"""Task scorers: the task's own checker (strict = exact format, tolerant = the right answer in
any format) and format compliance, for catalog families and the user's own tasks alike.

The checker comes from `resolve_task` with the task spec the row carries (user tasks); rows
that nothing can check (free-form instructions, free-text user tasks) get None: not applicable.
"""

from iftkit.data.tasks import resolve_task, task_spec
from iftkit.evaluation.scorers.base import BINARY, CONTINUOUS, Output, Scorer, ScoreResult
from iftkit.evaluation.scorers.registry import (
    EXACT_FORMAT,
    ITEMS,
    STRICT_ANSWER,
    TASK_ANSWER,
    TASK_CHECKER,
    ScorerInfo,
)


def checker(sample):
    task = resolve_task(sample.task, task_spec(sample.meta))
    return task if task is not None and task.checkable else None


class TaskScore(Scorer):
    values = BINARY

    def __init__(self, mode: str):
        self.mode = mode
        self.name = f"task_{mode}"

    def score(self, samples):
        out = []
        for s in samples:
            task = checker(s)
            out.append(
                None if task is None or s.gold is None else float(task.score(s.prediction, s.gold, mode=self.mode))
            )
        return out

    def values_for(self, records):
        """CONTINUOUS where a record's task scores this mode as a share (a record list's item F1, a span's token
        F1), so the report's intervals are those of a continuous score, never the 0/1 ones; else BINARY."""
        tasks = (checker(r) for r in records)
        return CONTINUOUS if any(t is not None and t.score_values(self.mode) == CONTINUOUS for t in tasks) else BINARY


class FormatCompliance(Scorer):
    name = "task_format"
    values = BINARY

    def score(self, samples):
        out = []
        for s in samples:
            task = checker(s)
            out.append(None if task is None else float(bool(task.format_ok(s.prediction, s.gold))))
        return out


class RecordItems(Scorer):
    """Answers that are lists of items (entities, line items, extracted records), pooled over a suite:
    micro precision / recall / F1 over every item of every answer (each item matched on all its fields),
    and the mean per-answer F1 when records are matched on their key field alone (an entity's text,
    whatever its type). None where the gold is not a list."""

    name = "task_items"
    MICRO = {"task_items_precision": (0, 1), "task_items_recall": (0, 2)}  # output: (numerator, denominator)

    def outputs(self):
        return {
            "task_items_f1": _MicroItems("task_items_f1", None),
            **{o: _MicroItems(o, cols) for o, cols in self.MICRO.items()},
            "task_items_key_f1": Output("task_items_key_f1"),
        }

    def score_detailed(self, samples):
        n = len(samples)
        vals = {o: [None] * n for o in self.outputs()}
        for i, s in enumerate(samples):
            task = checker(s)
            counts = _item_counts(s, task)
            if counts is None:
                continue
            tp, n_pred, n_gold = counts
            vals["task_items_f1"][i] = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else 1.0
            vals["task_items_precision"][i] = tp / n_pred if n_pred else None
            vals["task_items_recall"][i] = tp / n_gold if n_gold else None
            if task.spec.item_key:
                vals["task_items_key_f1"][i] = task.item_f1(s.prediction, s.gold, task.spec.item_key)
        return ScoreResult(vals, [None] * n, [()] * n)


def _item_counts(sample, task):
    """(matched, predicted, gold) items of a list answer; None where the gold is not a list of items."""
    if task is None or sample.gold is None or not hasattr(task, "item_counts"):
        return None
    return task.item_counts(sample.prediction, sample.gold)


class _MicroItems(Output):
    """Micro-averaged over a group: pooled matched items over pooled predicted (precision), gold
    (recall) or both (F1 = 2 tp / (pred + gold)) items."""

    def __init__(self, name, cols):
        super().__init__(name, aggregation="micro over items")
        self.cols = cols

    def corpus_statistic(self, records):
        counts = [c for c in (_item_counts(r, checker(r)) for r in records) if c is not None]
        cols = [[c[k] for c in counts] for k in range(3)]
        if self.cols is None:
            return _micro_f1, cols
        num, den = self.cols
        return _ratio_of_sums, [cols[num], cols[den]]


def _micro_f1(tp, n_pred, n_gold):
    total = n_pred.sum() + n_gold.sum()
    return 2 * tp.sum() / total if total else 1.0


def _ratio_of_sums(num, den):
    return num.sum() / den.sum() if den.sum() else None


SCORERS = (
    ScorerInfo(
        "task_strict", lambda: TaskScore("strict"), "the task's checker, exact expected format", aliases=("task",),
        roles={TASK_CHECKER: 0, STRICT_ANSWER: 0},
    ),
    ScorerInfo(
        "task_tolerant",
        lambda: TaskScore("tolerant"),
        "the task's checker, right answer in any format",
        aliases=("task",),
        roles={TASK_CHECKER: 0, TASK_ANSWER: 0},
    ),
    ScorerInfo(
        "task_format",
        FormatCompliance,
        "output in the task's exact expected format (right or wrong)",
        aliases=("task",),
        roles={TASK_CHECKER: 0, EXACT_FORMAT: 0},
    ),
    ScorerInfo(
        "task_items",
        RecordItems,
        "answers that are lists of items: micro precision/recall/F1 over items, and F1 on the key field only",
        outputs=tuple(RecordItems().outputs()),
        aliases=("task",),
        roles={TASK_CHECKER: 0, ITEMS: 0},
    ),
)
