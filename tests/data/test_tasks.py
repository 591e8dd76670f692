import json

import pytest

from iftkit.core.errors import IftkitError
from iftkit.data.tasks import CATALOG, get_task, list_tasks, resolve_task

# family -> (gold, right answer in the strict format, wrong answer, right answers in other formats)
TICKET = {"name": "Ana Silva", "product": "router", "priority": "high"}
CASES = {
    "sentiment": (
        "positive",
        "positive",
        "The review is negative.",
        ["Positive!", "The sentiment is positive.", '{"sentiment": "Positive"}'],
    ),
    "topic": ("sports", "sports", "business", ["Sports.", "Topic: SPORTS"]),
    "extract_emails": (
        ["a.b@x.com", "c@y.org"],
        "a.b@x.com, c@y.org",
        "a.b@x.com",
        ['["a.b@x.com", "c@y.org"]', "- a.b@x.com\n- c@y.org", "The emails are c@y.org and a.b@x.com."],
    ),
    "extract_date": (
        "2023-03-05",
        "2023-03-05",
        "2023-05-03",
        ["March 5, 2023", "The meeting is on 5 March 2023.", "2023/03/05"],
    ),
    "extract_amount": ("1234.50", "1234.50", "1243.50", ["$1,234.50", "The total is $1,234.50.", "1234.5"]),
    "ticket_json": (
        TICKET,
        json.dumps(TICKET),
        json.dumps({**TICKET, "priority": "low"}),
        [
            "```json\n" + json.dumps(TICKET) + "\n```",
            "name: Ana Silva\nproduct: Router\npriority: High",
            "Here you go: " + json.dumps({"priority": "high", "product": "router", "name": "Ana Silva", "x": 1}),
        ],
    ),
    "entity_tags": (
        {"person": ["Ana Silva", "Tom"], "city": ["Lisbon", "Paris"]},
        "person: Ana Silva, Tom; city: Lisbon, Paris",
        "person: Ana Silva; city: Lisbon, Paris",
        [
            '{"PERSON": ["Ana Silva", "Tom"], "LOC": ["Lisbon", "Paris"]}',
            "People: Tom, Ana Silva\nCities: Paris, Lisbon",
        ],
    ),
    "change_case": (
        "THE OLD TRAIN ARRIVES.",
        "THE OLD TRAIN ARRIVES.",
        "The Old Train Arrives.",
        ['Here it is: "THE OLD TRAIN ARRIVES."', "THE OLD TRAIN ARRIVES"],
    ),
    "reverse_words": (
        "pear fig apple",
        "pear fig apple",
        "apple fig pear",
        ["Pear, fig, apple", "Reversed: pear fig apple."],
    ),
    "arithmetic": ("42", "42", "41", ["17 + 25 = 42", "The answer is 42."]),
    "compare_logic": (
        {"answer": "Ann", "candidates": ["Ann", "Ben", "Cara"]},
        "Ann",
        "Ben",
        ["Ann is the oldest.", "The oldest is Ann, since she is older than Ben."],
    ),
    "code_output": ("6", "6", "5", ["It prints 6.", "`6`"]),
    "context_qa": ("Maya Chen", "Maya Chen", "Tom Lee", ["It was opened by Maya Chen.", "maya chen"]),
    "headline": (
        {
            "headline": "Norbank to open 12 new branches in Lyon",
            "org": "Norbank",
            "verb": "open",
            "noun": "branch",
            "max_words": 12,
        },
        "Norbank to open 12 new branches in Lyon",
        "Norbank said on Monday that it will open twelve brand new branches in the lovely city of Lyon",
        ["Norbank opens 12 branches in Lyon", "Headline: Norbank Will Open New Branches"],
    ),
    "sort_items": (
        ["apple", "fig", "pear"],
        "apple, fig, pear",
        "apple, pear, fig",
        ['["apple", "fig", "pear"]', "1. Apple\n2. Fig\n3. Pear", "Sorted: apple, fig and pear"],
    ),
    "count_items": ("4", "4", "5", ["There are 4 items.", "four"]),
    "list_items": (
        {"category": "fruit", "n": 3, "excluded": ["apple"]},
        "pear\nfig\nplum",
        "pear\nfig\napple",
        ["1. Pear\n2. Fig\n3. Plum", "Pears, figs and plums."],
    ),
    "constrained_sentence": (
        {"start": "Last summer", "word": "river", "end": ".", "max_words": 25},
        "Last summer, we walked along the river.",
        "We walked along the river last summer.",
        ['"Last summer, the river was warm and calm"', "last summer the river flooded. It was scary!"],
    ),
    "translate_words": ("chat, rouge", "chat, rouge", "chien, rouge", ["Chat, Rouge.", "In French: chat and rouge"]),
    "fact_qa": ("Paris", "Paris", "Lyon", ["The capital of France is Paris.", "paris"]),
}


def test_catalog_has_enough_families_phrasings_and_categories():
    assert len(list_tasks()) >= 12
    assert set(CASES) == set(list_tasks()), "every family needs scorer cases below"
    for task in CATALOG.values():
        assert len(task.phrasings) >= 3, task.name
        assert task.answer_format and task.tolerant_rule and task.category
    cats = {t.category for t in CATALOG.values()}
    for needed in (
        "classify",
        "extract",
        "structured",
        "tagging",
        "rewrite",
        "logic",
        "context_answer",
        "summarize",
        "list_ops",
        "code",
        "translate",
        "memory_answer",
        "create",
        "write",
    ):
        assert needed in cats


@pytest.mark.parametrize("name", sorted(CASES))
def test_strict_and_tolerant_on_right_wrong_and_reformatted(name):
    task = get_task(name)
    gold, right, wrong, reformatted = CASES[name]
    assert task.score(right, gold, "strict") == 1.0
    assert task.score("  " + right + "\n", gold, "strict") == 1.0  # surrounding whitespace is not format
    assert task.score(right, gold, "tolerant") == 1.0
    assert task.score(wrong, gold, "strict") == 0.0
    assert task.score(wrong, gold, "tolerant") == 0.0
    for other in reformatted:
        assert task.score(other, gold, "strict") == 0.0, f"strict must refuse {other!r}"
        assert task.score(other, gold, "tolerant") == 1.0, f"tolerant must accept {other!r}"
    assert task.format_ok(right)
    assert task.score("", gold, "tolerant") == 0.0


@pytest.mark.parametrize("name", list_tasks())
def test_generation_is_deterministic_self_consistent_and_difficulty_matters(name):
    task = get_task(name)
    a = task.generate(40, seed=7, difficulty=1)
    assert [r.to_json() for r in a] == [r.to_json() for r in task.generate(40, seed=7, difficulty=1)]
    assert [r.to_json() for r in a] != [r.to_json() for r in task.generate(40, seed=8, difficulty=1)]
    hard = task.generate(40, seed=7, difficulty=3)
    assert {r.completion for r in a} != {r.completion for r in hard} or {r.user_text() for r in a} != {
        r.user_text() for r in hard
    }
    for r in a + hard:
        assert r.task == name and r.category == task.category and r.source == "catalog"
        assert task.score(r.completion, r.gold, "strict") == 1.0, r
        assert task.score(r.completion, r.gold, "tolerant") == 1.0, r
        assert task.format_ok(r.completion), r
        assert len(r.user_text().split()) < 90, "prompts stay short for CPU training"
    assert len({r.meta["key"] for r in a}) == len(a)
    assert len({r.meta["phrasing"] for r in task.generate(60, seed=1)}) >= 3


def test_unknown_task_is_an_error_listing_the_catalog():
    with pytest.raises(IftkitError, match="sentiment"):
        get_task("nope")


def test_resolve_task_finds_catalog_families_and_nothing_for_an_unknown_name_without_spec():
    assert resolve_task("sentiment") is CATALOG["sentiment"]
    assert resolve_task("instruct_writing") is None
    with pytest.raises(ValueError):
        CATALOG["sentiment"].score("x", "positive", "lenient")


def test_code_output_answers_are_computed_not_executed():
    task = get_task("code_output")
    # a prediction that is code is only text to the scorer
    assert task.score("__import__('os').system('echo hacked')", "6", "tolerant") == 0.0


def test_a_family_scores_through_score_alone():
    from iftkit.data.tasks import base

    fam = get_task("sentiment")
    assert fam.score("positive", "positive") == 1.0 and fam.score("negative", "positive") == 0.0
    # score_row and mentions had no caller
    assert not hasattr(base.Task, "score_row") and not hasattr(base, "mentions")


def test_the_ticket_and_entity_families_keep_their_old_import_path():
    from iftkit.data.tasks import extract, structured

    assert extract.TicketJSON is structured.TicketJSON and extract.EntityTags is structured.EntityTags
    assert {"ticket_json", "entity_tags"} <= set(list_tasks())
