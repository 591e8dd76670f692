"""The user's own task: kind inferred from its rows, and checked like a catalog family."""

import json

import pytest

from iftkit.core.errors import IftkitError
from iftkit.data.rows import Row
from iftkit.data.tasks import CATALOG, TaskSpec, infer_spec, resolve_task
from iftkit.data.tasks.user import catalog_overlaps


def _rows(pairs):
    return [Row([{"role": "user", "content": p}], c, "mine", "user", c) for p, c in pairs]


def label_rows(n=40):
    return _rows(
        (f"Review number {i}: the plot {'soared' if i % 2 else 'sagged'}.", "positive" if i % 2 else "negative")
        for i in range(n)
    )


def json_rows(n=20):
    return _rows(
        (f"Ticket {i}: refund order {100 + i}", json.dumps({"order": 100 + i, "action": "refund"})) for i in range(n)
    )


def span_rows(n=20):
    cities = ["Lyon", "Porto", "Graz", "Turku", "Cork"]
    return _rows(
        (
            f"Passenger {i} flies from Oslo to {cities[i % 5]} {'New' if i > 9 else ''} tomorrow. Destination?",
            cities[i % 5],
        )
        for i in range(n)
    )


def free_rows(n=20):
    return _rows(
        (
            f"Summarise: meeting {i} moved budget item {i} to next quarter after a long debate.",
            f"Meeting {i} postponed budget item {i}.",
        )
        for i in range(n)
    )


def test_each_kind_is_inferred_from_the_rows_with_a_reason():
    assert infer_spec(label_rows()).kind == "label"
    assert infer_spec(label_rows()).labels == ("negative", "positive")
    js = infer_spec(json_rows())
    assert (js.kind, js.keys) == ("structured", ("action", "order"))
    assert infer_spec(span_rows()).kind == "span"
    free = infer_spec(free_rows())
    assert free.kind == "free_text" and "distinct answers" in free.reason


def test_the_recipe_overrides_the_inferred_kind_and_labels():
    spec = infer_spec(free_rows(), kind="span")
    assert spec.kind == "span" and spec.overridden
    spec = infer_spec(label_rows(), labels=["positive", "negative", "neutral"])
    assert spec.labels == ("positive", "negative", "neutral")
    with pytest.raises(IftkitError, match="not among the labels"):
        infer_spec(label_rows(), labels=["positive"])


LABEL_CASES = [
    # prediction, strict, tolerant, format
    ("positive", 1, 1, 1),
    ("The answer is Positive.", 0, 1, 0),
    ("The sentiment of this movie review is positive. The reviewer praises the cast.", 0, 1, 0),
    ("It mentions both positive and negative points.", 0, 0, 0),
    ("This is not positive.", 0, 0, 0),
    ("negative", 0, 0, 1),
    ('{"label": "positive"}', 0, 1, 0),
    ("", 0, 0, 0),
]


@pytest.mark.parametrize("prediction,strict,tolerant,fmt", LABEL_CASES)
def test_label_task_scoring_matches_hand_computed_values(prediction, strict, tolerant, fmt):
    task = resolve_task("mine", infer_spec(label_rows()).to_dict())
    assert task.score(prediction, "positive", "strict") == strict
    assert task.score(prediction, "positive", "tolerant") == tolerant
    assert task.format_ok(prediction) == bool(fmt)


def test_longer_labels_are_matched_before_their_substrings():
    spec = TaskSpec("label", labels=("positive", "very positive", "negative"))
    task = resolve_task("mine", spec)
    assert task.score("I'd say very positive!", "very positive", "tolerant") == 1.0
    assert task.score("I'd say very positive!", "positive", "tolerant") == 0.0


def test_structured_task_compares_json_as_data():
    task = resolve_task("mine", infer_spec(json_rows()))
    gold = json.dumps({"order": 7, "action": "refund"})
    assert task.score('{"action": "refund", "order": 7}', gold, "strict") == 1.0  # key order is free
    assert task.score('Sure! ```json\n{"Action": "Refund", "order": 7}\n```', gold, "strict") == 0.0
    assert task.score('Sure! ```json\n{"Action": "Refund", "order": 7}\n```', gold, "tolerant") == 1.0
    assert task.score('{"action": "refund", "order": 8}', gold, "tolerant") == 0.0
    assert task.format_ok('{"action": "cancel", "order": 1}') and not task.format_ok('{"order": 1}')
    assert not task.format_ok("refund order 7")


def entity_rows(n=20):
    """Sentences with a list of {text, type} entities each: the record-list shape of NER data."""
    people, places = ["Ann Lee", "Bo Chen", "Cy Park", "Di Roy"], ["Oslo", "Lima", "Kyiv", "Perth"]
    rows = []
    for i in range(n):
        ents = [{"text": people[i % 4], "type": "PER"}, {"text": places[i % 4], "type": "LOC"}]
        rows.append((f"Entities in: {people[i % 4]} flew to {places[i % 4]} on day {i}.", json.dumps(ents)))
    return _rows(rows)


GOLD3 = json.dumps(
    [{"text": "Ann Lee", "type": "PER"}, {"text": "Oslo", "type": "LOC"}, {"text": "ACME", "type": "ORG"}]
)


def test_record_lists_score_item_level_f1():
    spec = infer_spec(entity_rows())
    assert (spec.kind, spec.item_key) == ("structured", "text")  # text is the field that names an entity
    task = resolve_task("mine", spec)
    two_of_three = '[{"text": "Ann Lee", "type": "PER"}, {"text": "Oslo", "type": "LOC"}]'
    # hand-computed: 2 matched, 2 predicted, 3 gold -> P 1, R 2/3, F1 = 2*2/(2+3) = 0.8
    assert task.score(two_of_three, GOLD3, "tolerant") == pytest.approx(0.8)
    assert task.score(two_of_three, GOLD3, "strict") == 0.0  # strict stays exact
    # order free and case/spacing ignored in tolerant mode; strict needs the same items exactly
    shuffled = '[{"type": "ORG", "text": "ACME"}, {"text": "Oslo", "type": "LOC"}, {"text": "Ann Lee", "type": "PER"}]'
    assert task.score(shuffled, GOLD3, "strict") == 1.0
    assert task.score(shuffled.replace("ACME", "acme "), GOLD3, "tolerant") == 1.0
    # a wrong type does not match: 1 of 2 predicted, 1 of 3 gold
    wrong_type = '[{"text": "Ann Lee", "type": "LOC"}, {"text": "Oslo", "type": "LOC"}]'
    assert task.score(wrong_type, GOLD3, "tolerant") == pytest.approx(2 * 1 / (2 + 3))
    assert task.item_counts(wrong_type, GOLD3) == (1, 2, 3)
    # ... but the looser companion, matched on the text field alone, counts it
    assert task.item_counts(wrong_type, GOLD3, key="text") == (2, 2, 3)
    # an extra entity lowers precision: 3 of 4 predicted
    extra = shuffled[:-1] + ', {"text": "Bo", "type": "PER"}]'
    assert task.item_counts(extra, GOLD3) == (3, 4, 3)
    assert task.score(extra, GOLD3, "tolerant") == pytest.approx(6 / 7)
    # duplicates are counted: the same entity twice is one match and one false positive
    assert task.item_counts('[{"text": "Oslo", "type": "LOC"}, {"text": "Oslo", "type": "LOC"}]', GOLD3) == (1, 2, 3)


def test_record_lists_in_prose_fences_or_cut_off_are_still_read():
    task = resolve_task("mine", infer_spec(entity_rows()))
    fenced = (
        'Here are the entities:\n```json\n[{"text": "Ann Lee", "type": "PER"}, {"text": "Oslo", "type": "LOC"}]\n```'
    )
    assert task.score(fenced, GOLD3, "tolerant") == pytest.approx(0.8)
    wrapped = '{"entities": [{"text": "Ann Lee", "type": "PER"}]}'
    assert task.item_counts(wrapped, GOLD3) == (1, 1, 3)
    # cut off by the length limit: the complete records still count, the torn one does not
    torn = '[{"text": "Ann Lee", "type": "PER"}, {"text": "Oslo", "type": "LOC"}, {"text'
    assert task.item_counts(torn, GOLD3) == (2, 2, 3)
    assert task.score("no entities here", GOLD3, "tolerant") == 0.0
    assert task.score("[]", "[]", "tolerant") == 1.0  # nothing to find, nothing found
    # a single JSON object keeps the whole-value rule
    obj = resolve_task("mine", infer_spec(json_rows()))
    assert obj.score('{"action": "refund", "order": 8}', json.dumps({"order": 7, "action": "refund"}),
                     "tolerant") == 0.0


def test_span_task_uses_token_f1_and_item_sets():
    task = resolve_task("mine", infer_spec(span_rows()))
    assert task.score("Lyon", "Lyon", "strict") == 1.0
    assert task.score("lyon.", "Lyon", "strict") == 0.0
    assert task.score("lyon.", "Lyon", "tolerant") == 1.0
    assert task.score("New York", "New York City", "tolerant") == pytest.approx(0.8)  # P 1, R 2/3
    assert task.score("Paris", "Lyon", "tolerant") == 0.0
    # several spans: F1 over the item sets
    assert task.score("Ann; Bob", "Ann; Bob; Cy", "tolerant") == pytest.approx(0.8)
    assert task.format_ok("Lyon") and not task.format_ok("The destination of the passenger is the city of Lyon.")


def test_free_text_task_has_no_checker_for_the_task_scorers():
    from iftkit.evaluation.scorers import SampleRecord, get_scorer

    spec = infer_spec(free_rows()).to_dict()
    s = SampleRecord(
        [{"role": "user", "content": "x"}],
        "Meeting moved.",
        "Meeting 1 postponed.",
        "Meeting 1 postponed.",
        task="mine",
        meta={"task_spec": spec},
    )
    assert get_scorer("task_tolerant").score([s]) == [None]
    assert get_scorer("task_format").score([s]) == [None]


def test_task_scorers_reach_user_tasks_through_the_row_spec():
    from iftkit.evaluation.scorers import SampleRecord, get_scorer

    spec = infer_spec(label_rows()).to_dict()
    samples = [
        SampleRecord([{"role": "user", "content": "x"}], p, "positive", "positive", task="mine",
                     meta={"task_spec": spec})
        for p, *_ in LABEL_CASES
    ]
    assert get_scorer("task_tolerant").score(samples) == [float(c[2]) for c in LABEL_CASES]
    assert get_scorer("task_strict").score(samples) == [float(c[1]) for c in LABEL_CASES]
    assert get_scorer("task_format").score(samples) == [float(c[3]) for c in LABEL_CASES]


def test_a_user_task_with_the_catalog_sentiment_labels_overlaps_that_family_only():
    spec = infer_spec(label_rows())
    found = catalog_overlaps(spec, [r.user_text() for r in label_rows()], CATALOG)
    assert list(found) == ["sentiment"] and "same labels" in found["sentiment"]


def test_near_duplicate_prompts_overlap_a_family_even_without_labels():
    rows = CATALOG["arithmetic"].generate(30, seed="user-copy")
    spec = infer_spec(rows)
    assert "arithmetic" in catalog_overlaps(spec, [r.user_text() for r in rows], CATALOG)


def ner_rows(n=400, nested=(7,)):
    """NER rows with {text, type} records; the rows in `nested` hold one record whose text is an object."""
    rows = []
    for i in range(n):
        ents = [{"text": f"Person{i}", "type": "PER"}, {"text": f"City{i}", "type": "LOC"}]
        if i in nested:
            ents[0]["text"] = {"value": f"Person{i}"}  # one malformed record in the whole file
        rows.append((f"Entities in: Person{i} flew to City{i}.", json.dumps(ents)))
    return _rows(rows)


def test_one_malformed_record_keeps_the_item_key_and_the_warning_counts_it():
    from iftkit.data.tasks.user import check_spec
    from iftkit.evaluation.scorers import SampleRecord, get_scorer

    rows = ner_rows()
    spec = infer_spec(rows)
    assert spec.item_key == "text"  # the majority of records name themselves by their text, not their type
    assert "`text`" in spec.describe()  # the summary says which field the key score matches on
    warned = check_spec(spec, rows[:300], rows[300:]).warnings("ner.jsonl")
    assert any("1 of 800 gold records have no text `text`" in w for w in warned)
    # entity texts all wrong, types right: the key score (matched on text) must not call it perfect
    gold = rows[0].gold
    wrong = json.dumps([{"text": "Nobody", "type": "PER"}, {"text": "Nowhere", "type": "LOC"}])
    sample = SampleRecord([{"role": "user", "content": "x"}], wrong, gold, gold, task="mine",
                          meta={"task_spec": spec.to_dict()})
    key_f1 = get_scorer("task_items").score_detailed([sample]).values["task_items_key_f1"]
    assert key_f1 == [0.0]


def test_a_consistent_record_file_keeps_its_spec_byte_for_byte():
    # the majority rule picks what the all-records rule picked wherever every record fits
    assert infer_spec(entity_rows()).to_dict() == {
        "kind": "structured", "labels": [], "keys": [], "max_words": 0, "item_key": "text",
        "reason": "20 of 20 answers are JSON", "overridden": False}
    assert "item_key" not in infer_spec(json_rows()).to_dict()  # objects, not record lists: no key field


def test_gold_answers_that_are_not_json_are_counted():
    from iftkit.data.tasks.user import check_spec

    rows = json_rows(20)
    rows[3] = _rows([("Ticket 3: refund order 103", "{order: 103, action: refund}")])[0]  # not JSON
    rows[15] = _rows([("Ticket 15: refund order 115", "refund 115")])[0]
    spec = infer_spec(rows)
    assert spec.kind == "structured"
    found = check_spec(spec, rows[:10], rows[10:])
    assert (found.invalid_json_pool, found.invalid_json_test) == (1, 1)
    assert found.warnings("t.jsonl") == [
        "t.jsonl: 1 of 10 test rows have answers that are not valid JSON: no model can score on them "
        "(and 1 of 10 training-pool rows teach a non-JSON answer); fix or drop them"]
    assert found.fatal("t.jsonl") is None
    # a structured task (set in the recipe) with no JSON answer at all can score nothing
    prose = _rows((f"Ticket {i}", f"refund order {i}") for i in range(20))
    forced = infer_spec(prose, kind="structured")
    assert "none of the 10 test rows has a valid JSON answer" in check_spec(forced, prose[:10], prose[10:]).fatal("t")


def test_a_file_whose_answers_are_all_the_same_is_fatal():
    from iftkit.data.tasks.user import check_spec

    rows = _rows((f"Review {i}: fine.", "positive") for i in range(40))
    found = check_spec(infer_spec(rows), rows[:30], rows[30:])
    assert "all 40 answers are the same ('positive')" in found.fatal("r.jsonl")


def test_the_mix_summary_names_the_item_key_and_warns_of_non_json_answers(tmp_path):
    from iftkit.config import validate
    from iftkit.data.mix import build_mix, load_manifest, target_summary

    ents = [json.dumps([{"text": f"P{i}", "type": "PER"}, {"text": f"C{i}", "type": "LOC"}]) for i in range(60)]
    ents[4] = ents[9] = "P4 is a person"  # two answers that are not JSON (kind stays inferred: 58 of 60 are)
    f = tmp_path / "ner.jsonl"
    f.write_text("".join(json.dumps({"instruction": f"Entities in: P{i} went to C{i}.", "output": a}) + "\n"
                         for i, a in enumerate(ents)))
    recipe = validate({"data": {"target_task": "ner", "target_files": [str(f)], "general_tasks": ["arithmetic"],
                                "samples_per_task": 20},
                       "mix": {"target_count": 4, "val_size": 2, "test_size_per_task": 2}})
    lines = target_summary(load_manifest(build_mix(recipe, tmp_path / "mix")))
    assert lines[0].startswith("target task ner: structured (JSON) task, records named by their `text` field")
    warned = [x for x in lines if "not valid JSON" in x]
    assert len(warned) == 1 and warned[0].startswith(f"{f}: ")
    n_test = int(warned[0].split(": ")[1].split(" of ")[0])
    assert f"and {2 - n_test} of 30 training-pool rows" in warned[0]  # both counted, wherever the split put them


def test_a_rows_spec_is_read_in_one_place_and_the_spec_side_keeps_its_old_import_path():
    from iftkit.data.tasks import spec, task_spec, user

    meta = {"task_spec": infer_spec(label_rows()).to_dict()}
    assert TaskSpec.from_dict(task_spec(meta)) == infer_spec(label_rows())
    assert not hasattr(user, "spec_of")  # it copied task_spec
    for name in ("TaskSpec", "SpecCheck", "check_spec", "infer_spec", "catalog_overlaps", "KINDS"):
        assert getattr(user, name) is getattr(spec, name)
