import json

from iftkit.meta.perturb import format_variants, near_misses, synonym_label, wrong_variants


def test_plain_label_gets_every_kind_of_reformatting():
    v = format_variants("positive")
    assert set(v) == {"wrap_sentence", "casing", "punctuation", "json_vs_plain", "explanation", "synonym_label"}
    assert v["casing"] == "POSITIVE"
    assert json.loads(v["json_vs_plain"]) == {"answer": "positive"}
    assert v["synonym_label"] == "favourable"
    assert all(x != "positive" for x in v.values())


def test_json_answer_keeps_keys_and_becomes_plain_lines():
    ref = json.dumps({"name": "Ada", "city": "Paris"})
    v = format_variants(ref)
    assert json.loads(v["casing"]) == {"name": "ADA", "city": "PARIS"}
    assert v["json_vs_plain"] == "name: Ada\ncity: Paris"
    assert "synonym_label" not in v  # nothing to swap: no variant rather than a copy


def test_synonym_preserves_case_and_whole_words():
    assert synonym_label("Negative.") == "Unfavourable."
    assert synonym_label("positively great") is None


def test_wrong_answers_are_other_rows_with_a_different_gold_never_chosen_by_a_scorer():
    refs = ["positive", "positive", "negative", "neutral"]
    golds = ["positive", "positive", "negative", "neutral"]
    # row 1 has the same gold: never a "wrong" answer; no scorer is asked
    assert wrong_variants(0, refs, golds, limit=5) == [("other_answer", "negative"), ("other_answer", "neutral")]
    # without gold, another row's differing reference text is the wrong answer
    assert wrong_variants(0, ["a cat", "a dog", "a cat"], [None] * 3) == [("other_answer", "a dog")]


def test_the_gold_alone_decides_which_answers_are_wrong():
    # the old source asked task_tolerant whether a candidate was wrong, so TFA's wrong answers were
    # exactly those task_tolerant rejects; now a differing gold decides, whatever a scorer would say
    refs = ["negative", "Not negative at all: positive!", "negative."]
    golds = ["negative", "positive", "negative"]
    assert wrong_variants(0, refs, golds, limit=5) == [("other_answer", "Not negative at all: positive!")]


def test_near_misses_keep_the_template_and_change_the_content():
    ticket = json.dumps({"name": "Ada", "priority": "low"})
    assert near_misses(ticket, [json.dumps({"name": "Bo", "priority": "low"})]) == [
        json.dumps({"name": "Bo", "priority": "low"})
    ]
    assert near_misses("Total: 41.50 EUR", []) == ["Total: 42.50 EUR"]
    # reordering items or swapping a word can leave an answer correct: not used as wrong answers
    assert near_misses("carrot, golf, papaya", []) == []
    assert near_misses("person: Theo Muller", ["person: Pia Muller"]) == []
    refs = ["12", "7"]
    got = wrong_variants(0, refs, refs, limit=3)
    assert got[0] == ("near_miss", "13") and ("other_answer", "7") in got
