"""Checkers for the user's own tasks, inferred from their rows.

A user file has no family class, so its checker is decided from the target rows' answers:

- label: few distinct short answers (sentiment, intent, routing, NLI). strict = exactly one
  label in its expected form; tolerant = exactly one known label is asserted (a mention of two
  labels, or a negated one, is wrong); format = the answer is one label.
- structured: JSON answers, compared as data (key order, case and surrounding prose ignored in
  tolerant mode); format = the whole answer is a JSON object with the keys every gold has.
  A gold that is a list (entities, line items, extracted records) is scored item by item:
  strict = the same items exactly (order free, duplicates counted); tolerant = item-level F1
  over the list the answer means (records.py: matched on the gold records' fields, case, spacing
  and numeric strings ignored); format = a bare JSON list with no field the gold lacks. The
  `task_items` scorer adds corpus-level micro precision/recall/F1 and a looser F1 matched on the
  records' key field.
- span: answers that appear in the input (NER, extractive QA). strict = the exact span(s);
  tolerant = token F1 (one span) or item-set F1 (several); format = a bare span, no longer
  than the longest gold.
- free_text: summaries, rewrites. No checker: reference-based scorers carry the task.

The decision is a `TaskSpec` (JSON-serialisable), stored in the mix manifest and in each test
row's meta, so eval, meta-eval and the report rebuild the same checker from the same spec.
"""

import json
from collections import Counter
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.data.tasks.base import Task, _try_json, find_json, normalize, split_items, strip_wrappers
from iftkit.data.tasks.records import canonical, extra_fields, item_id, read_list, record_fields

# the spec side lives in data/tasks/spec.py; these names stay importable from here
from iftkit.data.tasks.spec import (
    _NEGATIONS,
    KINDS,
    MAX_LABEL_WORDS,
    MAX_LABELS,
    SpecCheck,
    TaskSpec,
    _as_json,
    _span_items,
    catalog_overlaps,
    check_spec,
    infer_spec,
    item_key_misfits,
)

__all__ = ["KINDS", "MAX_LABELS", "MAX_LABEL_WORDS", "FreeTextTask", "LabelTask", "SpanTask", "SpecCheck",
           "StructuredTask", "TaskSpec", "UserTask", "catalog_overlaps", "check_spec", "infer_spec",
           "item_key_misfits", "user_task"]


# --- the checkers --------------------------------------------------------------------------


class UserTask(Task):
    """A user task checked according to its spec (no generation: rows come from the user)."""

    category = "user"
    checkable = True

    def __init__(self, name: str, spec: TaskSpec):
        self.name, self.spec = name, spec
        self.description = spec.describe()

    def make(self, rng, difficulty):
        raise IftkitError(f"task {self.name!r} is user data: its rows come from data.target_files, not a generator")


class LabelTask(UserTask):
    answer_format = "exactly one of the labels, as written in the data"
    tolerant_rule = "exactly one known label is asserted (any case/wording); two labels or a negated one are wrong"

    def __init__(self, name, spec):
        super().__init__(name, spec)
        self.labels = spec.labels  # named like a catalog classification family's
        # longest first, so "very positive" is found before "positive"
        self._norm = sorted(
            {normalize(lab): lab for lab in spec.labels if normalize(lab)}.items(), key=lambda kv: -len(kv[0])
        )

    def strict(self, prediction, gold):
        return prediction.strip() == str(gold).strip()

    def asserted(self, prediction: str) -> list[str]:
        """Labels the answer asserts (mentioned and not negated), in the labels' own form."""
        found = find_json(prediction)
        if isinstance(found, dict):
            prediction = " ".join(str(v) for v in found.values())
        words = normalize(prediction).split()
        taken = [False] * len(words)
        out, negated = [], []
        for norm, label in self._norm:
            toks = norm.split()
            for i in range(len(words) - len(toks) + 1):
                if words[i : i + len(toks)] == toks and not any(taken[i : i + len(toks)]):
                    for j in range(i, i + len(toks)):
                        taken[j] = True
                    before = {w.replace("'", "") for w in words[max(0, i - 3) : i]}
                    (negated if before & _NEGATIONS else out).append(label)
        return sorted(set(out)) + [f"not {x}" for x in sorted(set(negated))]

    def tolerant(self, prediction, gold):
        said = self.asserted(prediction)
        return said == [str(gold).strip()] or (len(said) == 1 and normalize(said[0]) == normalize(str(gold)))

    def format_ok(self, prediction, gold=None):
        return prediction is not None and str(prediction).strip() in self.spec.labels


class StructuredTask(UserTask):
    answer_format = "a JSON value equal to the gold (key order free); a list of records with the gold's fields only"
    tolerant_rule = (
        "the first JSON value in the answer equals the gold, ignoring key order, case, prose, code fences and "
        "numbers written as strings; a list of items scores item-level F1 (records matched on the gold's fields, "
        "order free; the last list in the answer, wrappers opened; an empty gold needs `[]` or a 'none' answer)"
    )

    def strict(self, prediction, gold):
        g = _gold_value(gold)
        if isinstance(g, list):
            v = _try_json(prediction.strip())
            return isinstance(v, list) and Counter(map(_canon, v)) == Counter(map(_canon, g))
        return g is not None and _try_json(prediction.strip()) == g

    def score(self, prediction, gold, mode="strict"):
        g = _gold_value(gold)
        if mode != "tolerant" or prediction is None or not isinstance(g, list):
            return super().score(prediction, gold, mode)
        return self.item_f1(prediction, g)

    def score_values(self, mode="strict"):
        return "continuous" if mode == "tolerant" else "binary"  # a list's item F1 (other golds: 0/1)

    def tolerant(self, prediction, gold):
        g = _gold_value(gold)
        if isinstance(g, list):
            return self.item_f1(prediction, g) == 1.0
        found = find_json(prediction)
        return g is not None and found is not None and canonical(found) == canonical(g)

    def item_counts(self, prediction, gold, key: str = "") -> Optional[tuple[int, int, int]]:
        """(matched, predicted, gold) items of a list answer, or None when the gold is not a list.
        key: match records on that field alone (the looser companion); "" = on the gold's fields.
        An answer no list can be read from counts as one wrong item, so it is never "right" about
        an empty gold (nothing to find) by saying nothing readable."""
        g = _gold_value(gold)
        if not isinstance(g, list):
            return None
        fields = record_fields(g)
        want = Counter(item_id(x, fields, key) for x in g)
        items = read_list(str(prediction or ""), fields)
        if items is None:
            return 0, 1, sum(want.values())
        pred = Counter(item_id(x, fields, key) for x in items)
        return sum((pred & want).values()), sum(pred.values()), sum(want.values())

    def item_f1(self, prediction, gold, key: str = "") -> float:
        tp, n_pred, n_gold = self.item_counts(prediction, gold, key)
        if not n_pred + n_gold:
            return 1.0  # an explicit empty answer to an empty gold
        return 2 * tp / (n_pred + n_gold)

    def format_ok(self, prediction, gold=None):
        """The whole answer is JSON: an object with the keys every gold has, or, for a list gold, a
        list whose records carry no field the gold's records lack."""
        v = _try_json(str(prediction or "").strip())
        if not isinstance(v, (dict, list)):
            return False
        g = _gold_value(gold) if gold is not None else None
        if isinstance(g, list):
            return isinstance(v, list) and not extra_fields(v, record_fields(g))
        return isinstance(v, dict) and set(self.spec.keys) <= set(map(str, v)) if self.spec.keys else True


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _gold_value(gold):
    return gold if isinstance(gold, (dict, list)) else _as_json(str(gold))


class SpanTask(UserTask):
    answer_format = "the exact span(s) from the input"
    tolerant_rule = "token F1 against the gold span (item-set F1 when the gold has several items)"

    def strict(self, prediction, gold):
        return _items_norm(prediction, exact=True) == _items_norm(str(gold), exact=True)

    def score_values(self, mode="strict"):
        return "continuous" if mode == "tolerant" else "binary"  # token or item-set F1

    def score(self, prediction, gold, mode="strict"):
        if mode != "tolerant" or prediction is None:
            return super().score(prediction, gold, mode)
        gold_items = _span_items(str(gold))
        if len(gold_items) > 1:
            return _f1(set(_items_norm(prediction)), set(_items_norm(str(gold))))
        return _token_f1(normalize(strip_wrappers(str(prediction))).split(), normalize(str(gold)).split())

    def tolerant(self, prediction, gold):
        return self.score(prediction, gold, "tolerant") >= 0.5

    def format_ok(self, prediction, gold=None):
        # a bare span (or list of spans), each no longer than the longest gold answer allows
        items = _span_items(str(prediction or ""))
        limit = max(3, int(self.spec.max_words * 1.5 + 0.5))
        return bool(items) and all(len(x.split()) <= limit for x in items)


def _items_norm(text: str, exact: bool = False) -> list[str]:
    items = _span_items(text) if exact else (split_items(text) or _span_items(text))
    return sorted((x.strip() if exact else normalize(x)) for x in items if x.strip())


def _f1(pred: set, gold: set) -> float:
    if not pred or not gold:
        return float(pred == gold)
    tp = len(pred & gold)
    if not tp:
        return 0.0
    p, r = tp / len(pred), tp / len(gold)
    return 2 * p * r / (p + r)


def _token_f1(pred: list, gold: list) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


class FreeTextTask(UserTask):
    """No checker: summaries and rewrites are scored by reference-based scorers and the judge."""

    checkable = False
    answer_format = "free text"
    tolerant_rule = "none: no task checker for free text"

    def score(self, prediction, gold, mode="strict"):
        raise IftkitError(f"task {self.name!r} is free text: it has no task checker")

    def format_ok(self, prediction, gold=None):
        return prediction is not None and bool(str(prediction).strip())


_BY_KIND = {"label": LabelTask, "structured": StructuredTask, "span": SpanTask, "free_text": FreeTextTask}


def user_task(name: str, spec: TaskSpec) -> UserTask:
    return _BY_KIND[spec.kind](name, spec)
