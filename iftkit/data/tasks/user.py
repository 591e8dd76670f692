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
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from iftkit.core.errors import IftkitError
from iftkit.data.tasks.base import Task, _try_json, find_json, normalize, split_items, strip_wrappers
from iftkit.data.tasks.records import canonical, extra_fields, item_id, read_list, record_fields

KINDS = ("label", "structured", "span", "free_text")
# a label set larger than this reads as free text (or spans), not classification
MAX_LABELS = 30
MAX_LABEL_WORDS = 5
_NEGATIONS = {
    "not",
    "no",
    "never",
    "neither",
    "nor",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "dont",
    "doesnt",
    "didnt",
    "cannot",
    "cant",
    "without",
    "hardly",
}


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    labels: tuple = ()  # label: the label strings, in their expected form
    keys: tuple = ()  # structured: keys every gold object has
    max_words: int = 0  # span: words in the longest gold answer
    item_key: str = ""  # structured record lists: the field that names a record (e.g. an entity's text)
    reason: str = ""  # why this kind was chosen (printed in the build summary)
    overridden: bool = field(default=False)

    def to_dict(self) -> dict:
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if not d["item_key"]:  # absent unless set, so the specs (and row hashes) of other tasks stay as they were
            del d["item_key"]
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "task_spec") -> "TaskSpec":
        if not isinstance(d, dict) or d.get("kind") not in KINDS:
            raise IftkitError(f"{where}: expected a task spec with kind one of {', '.join(KINDS)}, got {d!r}")
        return cls(
            kind=d["kind"],
            labels=tuple(d.get("labels") or ()),
            keys=tuple(d.get("keys") or ()),
            max_words=int(d.get("max_words") or 0),
            item_key=str(d.get("item_key") or ""),
            reason=str(d.get("reason") or ""),
            overridden=bool(d.get("overridden", False)),
        )

    def describe(self) -> str:
        if self.kind == "label":
            shown = ", ".join(self.labels[:8]) + (f", ... ({len(self.labels)} labels)" if len(self.labels) > 8 else "")
            return f"label task ({shown})"
        if self.kind == "structured":
            keys = f" with keys {', '.join(self.keys)}" if self.keys else ""
            named = f", records named by their `{self.item_key}` field (item_key)" if self.item_key else ""
            return f"structured (JSON) task{keys}{named}"
        if self.kind == "span":
            return "span/extraction task"
        return "free-text task (no task checker: reference-based scorers are primary)"


def _gold_text(row) -> str:
    g = row.gold if row.gold is not None else row.completion
    return g if isinstance(g, str) else json.dumps(g, ensure_ascii=False)


def _as_json(text: str):
    v = _try_json(strip_wrappers(text))
    return v if isinstance(v, (dict, list)) else None


def infer_spec(rows, kind: str = "auto", labels: Optional[list] = None) -> TaskSpec:
    """Decide how to check a user task from its rows (kind/labels from the recipe win)."""
    golds = [_gold_text(r).strip() for r in rows]
    if not golds:
        raise IftkitError("cannot infer a task kind from zero rows")
    if kind not in ("auto",) + KINDS:
        raise IftkitError(f"data.target_kind: {kind!r} is not one of auto, {', '.join(KINDS)}")
    if labels:
        labels = tuple(str(x) for x in labels)
        missing = sorted(set(golds) - set(labels))
        if missing:
            raise IftkitError(
                f"data.target_labels: answers {missing[:5]} of the target rows are not among the labels {list(labels)}"
            )
    if kind == "label" or (kind == "auto" and labels):
        return _label_spec(golds, labels, "set in the recipe", overridden=True)
    if kind == "structured":
        return _structured_spec(golds, "set in the recipe", overridden=True)
    if kind == "span":
        return _span_spec(golds, "set in the recipe", overridden=True)
    if kind == "free_text":
        return TaskSpec("free_text", reason="set in the recipe", overridden=True)
    n = len(golds)
    parsed = sum(_as_json(g) is not None for g in golds)
    if parsed >= 0.8 * n:
        return _structured_spec(golds, f"{parsed} of {n} answers are JSON")
    counts = Counter(golds)
    short = all(len(g.split()) <= MAX_LABEL_WORDS for g in counts)
    inside = sum(_in_prompt(g, r) for g, r in zip(golds, rows))
    if 2 <= len(counts) <= MAX_LABELS and short and len(counts) <= max(2, n // 3):
        # few answers can still be spans: the input holds the answer but not the alternatives
        # (a routing prompt that lists its options holds them all, a review holds none)
        alone = sum(
            _in_prompt(g, r) and not any(_in_prompt(o, r) for o in counts if o != g) for g, r in zip(golds, rows)
        )
        if alone < 0.7 * n:
            return _label_spec(golds, None, f"{len(counts)} distinct short answers over {n} rows")
        return _span_spec(golds, f"{alone} of {n} answers appear in their input, without the other answers")
    if inside >= 0.7 * n:
        return _span_spec(golds, f"{inside} of {n} answers appear in their input")
    return TaskSpec(
        "free_text",
        reason=f"{len(counts)} distinct answers over {n} rows, not JSON, {inside} of {n} found in their input",
    )


def _label_spec(golds, labels, reason, overridden=False) -> TaskSpec:
    found = labels or tuple(sorted(set(golds)))
    return TaskSpec("label", labels=tuple(found), reason=reason, overridden=overridden)


def _structured_spec(golds, reason, overridden=False) -> TaskSpec:
    objs = [_as_json(g) for g in golds]
    key_sets = [set(map(str, o)) for o in objs if isinstance(o, dict)]
    keys = tuple(sorted(set.intersection(*key_sets))) if key_sets and len(key_sets) == len(objs) else ()
    return TaskSpec("structured", keys=keys, item_key=_item_key(objs), reason=reason, overridden=overridden)


def _item_key(objs) -> str:
    """For golds that are lists of records: the field that names a record (an entity's text, not its
    type), which the looser companion score matches on alone. Chosen by majority, so one malformed
    record cannot flip it: among the fields most records have, those whose value is a string in most
    records, the one with the most distinct values (ties: more string values, then name order).
    `item_key_misfits` counts the records that do not fit."""
    records = _list_items(objs)
    dicts = [x for x in records if isinstance(x, dict)]
    if not dicts or 2 * len(dicts) <= len(records):
        return ""  # most items are not records
    present = Counter(k for r in dicts for k in set(map(str, r)))
    common = sorted(k for k, n in present.items() if 2 * n > len(dicts))
    strings = {k: [r[k] for r in dicts if isinstance(r.get(k), str)] for k in common}
    textual = [k for k in common if 2 * len(strings[k]) > len(dicts)]
    if len(common) < 2 or not textual:
        return ""  # a one-field record already matches on that field
    return max(textual, key=lambda k: (len({normalize(v) for v in strings[k]}), len(strings[k])))


def _list_items(objs) -> list:
    return [x for o in objs if isinstance(o, list) for x in o]


def item_key_misfits(golds, item_key: str) -> tuple[int, int]:
    """(records without a string `item_key`, records) over the gold answers that are lists."""
    records = _list_items(_as_json(str(g)) for g in golds)
    return sum(not (isinstance(r, dict) and isinstance(r.get(item_key), str)) for r in records), len(records)


@dataclass(frozen=True)
class SpecCheck:
    """What a user task's rows hold that its spec cannot score, found before anything trains: warned
    (`warnings`) where some answers are affected, fatal (`fatal`) where no answer can be scored."""

    spec: TaskSpec
    rows: int
    test_rows: int
    answers: tuple  # distinct gold answers over every row (at most two kept: one is fatal)
    invalid_json_test: int = 0  # structured: test rows whose gold is not JSON (no answer can match it)
    invalid_json_pool: int = 0  # ... and training-pool rows
    misfit_records: int = 0  # record lists: gold records without a string `item_key` value
    records: int = 0

    def warnings(self, where: str) -> list[str]:
        out = []
        if self.invalid_json_test or self.invalid_json_pool:
            out.append(f"{where}: {self.invalid_json_test} of {self.test_rows} test rows have answers that are not "
                       f"valid JSON: no model can score on them (and {self.invalid_json_pool} of "
                       f"{self.rows - self.test_rows} training-pool rows teach a non-JSON answer); fix or drop them")
        if self.misfit_records:
            out.append(f"{where}: {self.misfit_records} of {self.records} gold records have no text "
                       f"`{self.spec.item_key}` field (the item_key most records name themselves by): "
                       f"task_items_key_f1 matches those on whatever they hold there")
        return out

    def fatal(self, where: str) -> Optional[str]:
        """Why no in-domain score can mean anything, as one line naming the fix; None when some can."""
        if len(self.answers) == 1:
            return (f"{where}: all {self.rows} answers are the same ({self.answers[0][:60]!r}): nothing can be "
                    f"learnt or measured in-domain; give rows with different answers")
        if self.spec.kind == "structured" and self.invalid_json_test == self.test_rows:
            return (f"{where}: none of the {self.test_rows} test rows has a valid JSON answer, so no model can score "
                    f"on the structured task; fix the answers' JSON, or set data.target_kind to another kind")
        return None


def check_spec(spec: TaskSpec, pool, test) -> SpecCheck:
    """Count what the target rows (training pool and test set) hold that `spec` cannot score."""
    pool_golds = [_gold_text(r).strip() for r in pool]
    test_golds = [_gold_text(r).strip() for r in test]
    golds = pool_golds + test_golds
    found = dict(rows=len(golds), test_rows=len(test_golds), answers=tuple(sorted(set(golds)))[:2])
    if spec.kind == "structured":
        found.update(invalid_json_test=sum(_as_json(g) is None for g in test_golds),
                     invalid_json_pool=sum(_as_json(g) is None for g in pool_golds))
    if spec.item_key:
        found["misfit_records"], found["records"] = item_key_misfits(golds, spec.item_key)
    return SpecCheck(spec, **found)


def _span_spec(golds, reason, overridden=False) -> TaskSpec:
    return TaskSpec("span", max_words=max(len(g.split()) for g in golds), reason=reason, overridden=overridden)


def _in_prompt(gold: str, row) -> bool:
    text = normalize(" ".join(m["content"] for m in row.prompt if m.get("role") != "assistant"))
    items = [normalize(x) for x in _span_items(gold)]
    return bool(items) and all(x and f" {x} " in f" {text} " for x in items)


def _span_items(text: str) -> list[str]:
    found = _as_json(text)
    if isinstance(found, list):
        return [str(x).strip() for x in found if str(x).strip()]
    if re.search(r"[;\n]", text.strip()):
        return [p.strip() for p in re.split(r"[;\n]", text) if p.strip()]
    return [text.strip()] if text.strip() else []


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


def catalog_overlaps(spec: TaskSpec, prompts: list[str], catalog: dict, sample: int = 60) -> dict[str, str]:
    """Catalog families that teach the user's task: same label set, or near-duplicate prompts.

    Returns {family: why}. Near-duplicate = token Jaccard >= 0.8 with a row the family generates.
    """
    out = {}
    user_labels = {normalize(x) for x in spec.labels}
    for name, fam in catalog.items():
        fam_labels = {normalize(x) for x in getattr(fam, "labels", ())}
        if (
            user_labels
            and fam_labels
            and len(user_labels & fam_labels) >= 2
            and (fam_labels <= user_labels or user_labels <= fam_labels)
        ):
            out[name] = f"same labels ({', '.join(sorted(user_labels & fam_labels))})"
    mine = [_shape(p) for p in prompts[:sample]]
    for name, fam in catalog.items():
        if name in out:
            continue
        theirs = [_shape(r.user_text()) for r in fam.generate(sample, seed="overlap-probe")]
        dup = sum(any(_jaccard(a, b) >= 0.8 for b in theirs) for a in mine)
        if mine and dup >= max(2, len(mine) // 5):
            out[name] = f"{dup} of {len(mine)} sampled prompts near-duplicate its rows"
    return out


def _shape(text: str) -> set:
    """Words of a prompt with numbers masked: prompts from one template share their shape."""
    return set(re.sub(r"\d+", "#", strip_wrappers(text).lower()).split())


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def spec_of(meta: Any) -> Optional[TaskSpec]:
    d = (meta or {}).get("task_spec") if isinstance(meta, dict) else None
    return TaskSpec.from_dict(d) if d else None
