"""Record-list answers scored as a careful human scores them: a hand-scored table of model answers.

Each case: the answer, the gold, the item-level F1 a careful human gives (records matched on what
the gold asks for) and why. The task checker's tolerant score must agree with every one.
"""

import json

import pytest

from iftkit.data.tasks import TaskSpec, resolve_task
from iftkit.evaluation.scorers import SampleRecord, get_scorer

ANN, OSLO = {"text": "Ann Lee", "type": "PER"}, {"text": "Oslo", "type": "LOC"}
TWO = [ANN, OSLO]
ITEMS = [{"item": "apple", "qty": 2}, {"item": "pear", "qty": 1}]
TWO_JSON = json.dumps(TWO)


def _with(extra: dict) -> str:
    return json.dumps([{**r, **extra} for r in TWO])


# (answer, gold, the careful human's score, why)
CASES = [
    (TWO_JSON, TWO, 1.0, "exactly the gold"),
    (_with({"start": 0}), TWO, 1.0, "an extra `start` per record adds, it takes nothing away"),
    (_with({"confidence": 0.9}), TWO, 1.0, "an extra `confidence` field is format, not a wrong entity"),
    ('{"entities": %s, "count": 2}' % TWO_JSON, TWO, 1.0, "a two-key wrapper still holds the right list"),
    ('{"result": {"entities": %s}}' % TWO_JSON, TWO, 1.0, "a nested wrapper still holds the right list"),
    ('{"types": ["PER", "LOC"], "entities": %s}' % TWO_JSON, TWO, 1.0, "the list of records, not a list of types"),
    ('[{"text": "Ann Lee", "ty', [], 0.0, "nothing to find, and a list cut off before its first record ends"),
    ('[{"text": "Ann Lee", "type": "PER"}, {"te', [], 0.0, "nothing to find, but it names an entity"),
    ("[Ann Lee, Oslo]", [], 0.0, "nothing to find, and it lists two names (not even JSON)"),
    ("[]", [], 1.0, "nothing to find, and it says so with an empty list"),
    ("None.", [], 1.0, "nothing to find, and it says so"),
    ("There are no entities in this sentence.", [], 1.0, "nothing to find, said in words"),
    ('```json\n{"entities": []}\n```', [], 1.0, "nothing to find: an empty list in a wrapper"),
    ("I am not sure what you mean.", [], 0.0, "no answer at all is not an answer that nothing is there"),
    ('[{"item": "apple", "qty": "2"}, {"item": "pear", "qty": 1.0}]', ITEMS, 1.0, '"2" and 1.0 are the numbers 2, 1'),
    ('For example: [{"text": "Paris", "type": "LOC"}]\nAnswer: ' + TWO_JSON, TWO, 1.0,
     "the example it echoed first is not its answer; the last list is"),
    ('Example: [{"text": "Paris", "type": "LOC"}]\nAnswer: [{"text": "Ann Lee", "type": "PER"}, {"text": "Os',
     TWO, 2 / 3, "the cut-off answer holds one complete right entity: P 1, R 1/2"),
    (TWO_JSON + '\nI used the types ["PER", "LOC"].', TWO, 1.0, "a trailing list of types is not the answer"),
    ('Here you go:\n```json\n[{"Text": "ann  lee", "type": "per"}, {"text": "OSLO", "type": "LOC"}]\n```', TWO, 1.0,
     "prose, fences, case and spacing do not change the entities"),
    ('{"text": "Ann Lee", "type": "PER"}\n{"text": "Oslo", "type": "LOC"}', TWO, 1.0, "one record per line"),
    ('[{"text": "Ann Lee", "type": "LOC"}, {"text": "Oslo", "type": "LOC"}]', TWO, 0.5, "one entity has a wrong type"),
    ('[{"text": "Ann Lee"}, {"text": "Oslo"}]', TWO, 0.0, "the type is part of each answer and is missing"),
    ("None.", TWO, 0.0, "there were two entities to find"),
    ("[]", TWO, 0.0, "there were two entities to find"),
    (json.dumps([ANN, OSLO, {"text": "Bo", "type": "PER"}]), TWO, 0.8, "one invented entity: P 2/3, R 1"),
    ('[{"text": "Ann", "aliases": ["A"], "score": 1}]', [{"text": "Ann", "aliases": ["A"]}], 1.0,
     "a record with a list field is a record, not a wrapper"),
]


def _task():
    return resolve_task("ner", TaskSpec("structured", item_key="text"))


@pytest.mark.parametrize("answer,gold,human,why", CASES, ids=[c[3] for c in CASES])
def test_record_lists_score_as_a_careful_human(answer, gold, human, why):
    assert _task().score(answer, json.dumps(gold), "tolerant") == pytest.approx(human), why


def test_the_table_is_large_enough_and_covers_each_finding():
    assert len(CASES) >= 15
    assert sum(g == [] for _, g, _, _ in CASES) >= 5  # empty golds, credited only when said explicitly


def test_extra_fields_are_a_format_fault_not_a_wrong_item():
    task = _task()
    assert task.format_ok(TWO_JSON, TWO_JSON) and not task.format_ok(_with({"start": 0}), TWO_JSON)
    assert not task.format_ok('{"entities": %s}' % TWO_JSON, TWO_JSON)  # the gold is a bare list
    assert task.score(_with({"start": 0}), TWO_JSON, "strict") == 0.0  # strict stays exact
    # the format scorer sees the row's gold
    spec = TaskSpec("structured", item_key="text").to_dict()
    samples = [SampleRecord([{"role": "user", "content": "x"}], a, TWO_JSON, TWO_JSON, task="ner",
                            meta={"task_spec": spec}) for a in (TWO_JSON, _with({"confidence": 0.9}))]
    assert get_scorer("task_format").score(samples) == [1.0, 0.0]
    assert get_scorer("task_tolerant").score(samples) == [1.0, 1.0]


def test_an_unreadable_answer_to_an_empty_gold_counts_as_a_wrong_item_in_every_items_score():
    spec = TaskSpec("structured", item_key="text").to_dict()
    samples = [SampleRecord([{"role": "user", "content": "x"}], a, "[]", "[]", task="ner", meta={"task_spec": spec})
               for a in ('[{"text": "Ann', "[]")]
    got = get_scorer("task_items").score_detailed(samples).values
    assert got["task_items_f1"] == [0.0, 1.0]
    assert got["task_items_key_f1"] == [0.0, 1.0]
    assert _task().item_counts('[{"text": "Ann', "[]") == (0, 1, 0)
    # matched on the key field alone, extra fields and wrappers are read the same way
    assert _task().item_f1('{"result": {"entities": %s}}' % _with({"start": 3}), TWO_JSON, key="text") == 1.0


def test_a_single_object_answer_reads_numbers_written_as_strings_too():
    task = resolve_task("tickets", TaskSpec("structured", keys=("action", "order")))
    gold = json.dumps({"order": 7, "action": "refund"})
    assert task.score('Done: {"order": "7", "action": "Refund"}', gold, "tolerant") == 1.0
    assert task.score('{"order": "7", "action": "refund"}', gold, "strict") == 0.0  # strict stays exact
    assert task.score('{"order": "8", "action": "refund"}', gold, "tolerant") == 0.0
