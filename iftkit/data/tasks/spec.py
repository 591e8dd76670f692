"""A user task's kind, decided from its rows: the `TaskSpec` (label, structured, span or free_text) its checker
(data/tasks/user.py) is built from, the check of a spec against the rows it must score, and the probe for a
user task that copies a catalog family."""

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.data.tasks.base import _try_json, normalize, strip_wrappers

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
