"""The ifbench scorer reads IFBench's own verifiers (if-verifiable): hand-written answers to a few
instructions whose verdicts are known by reading the checks, strict and loose, one and two
instructions per prompt; rows outside the ifbench suite get no value, from it or from ifeval."""

import pytest

from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.scorers import get_scorer

pytest.importorskip("if_verifiable")

WORDS_3_TO_6 = ("count:word_count_range", {"min_words": 3, "max_words": 6})
NO_SPACE = ("format:no_whitespace", {})
TITLE = ("format:title_case", {})

# (instructions, answer, prompt strict, prompt loose, instruction-level strict, instruction-level loose)
TABLE = [
    ([WORDS_3_TO_6], "Tea is warm today.", 1, 1, 1.0, 1.0),
    ([WORDS_3_TO_6], "Tea is warm today and the kettle sings on the stove.", 0, 0, 0.0, 0.0),
    ([NO_SPACE], "Hello,world!", 1, 1, 1.0, 1.0),
    ([NO_SPACE], "Hello world", 0, 0, 0.0, 0.0),
    # the chatty first line breaks title case as written; loose drops the first line
    ([TITLE], "Sure, here it is:\nThe Quick Brown Fox", 0, 1, 0.0, 1.0),
    ([TITLE], "The Quick Brown Fox", 1, 1, 1.0, 1.0),
    # two instructions, one kept: the prompt fails, half its instructions pass
    ([WORDS_3_TO_6, NO_SPACE], "Tea is warm today.", 0, 0, 0.5, 0.5),
    ([WORDS_3_TO_6, TITLE], "Sure, here:\nThe Quick Brown Fox", 0, 1, 0.5, 1.0),
    ([NO_SPACE], "", 0, 0, 0.0, 0.0),  # no answer follows nothing
]


def _sample(instructions, answer, suite="ifbench"):
    return SampleRecord(prompt=[{"role": "user", "content": "Write something."}], prediction=answer, reference="",
                        task="ifbench", suite=suite,
                        meta={"instruction_id_list": [i for i, _ in instructions],
                              "kwargs": [k for _, k in instructions]})


def test_ifbench_scorer_gives_the_verifiers_verdicts_strict_and_loose():
    scorer = get_scorer("ifbench")
    res = scorer.score_detailed([_sample(ins, ans) for ins, ans, *_ in TABLE])
    got = list(zip(res.values["ifbench_prompt_strict"], res.values["ifbench_prompt_loose"],
                   res.values["ifbench_inst_strict"], res.values["ifbench_inst_loose"]))
    assert got == [tuple(float(x) for x in row[2:]) for row in TABLE]
    assert res.details[6]["strict"] == [True, False] and res.details[6]["instructions"][1] == "format:no_whitespace"
    assert not any(res.failed)
    outs = scorer.outputs()
    assert outs["ifbench_prompt_loose"].score_scale().kind == "binary"
    assert outs["ifbench_inst_loose"].score_scale().kind == "continuous"


def test_only_the_ifbench_suite_is_scored_and_ifeval_leaves_it_alone():
    pytest.importorskip("lm_eval")
    elsewhere = _sample([NO_SPACE], "Hello,world!", suite="held_out")
    here = _sample([NO_SPACE], "Hello,world!")
    res = get_scorer("ifbench").score_detailed([elsewhere, here])
    assert res.values["ifbench_prompt_strict"] == [None, 1.0]
    # IFBench's ids are not IFEval's: the ifeval scorer gives its rows no value instead of an unknown-id error
    ifeval = get_scorer("ifeval").score_detailed([here])
    assert ifeval.values["ifeval_prompt_strict"] == [None]


def test_reference_based_scorers_give_no_value_without_a_reference():
    here = _sample([NO_SPACE], "Hello,world!")
    for name in ("exact_match", "rougeL", "chrf"):
        assert get_scorer(name).score_detailed([here]).values[name] == [None]


def test_a_check_without_its_nltk_data_is_failed_not_zero(monkeypatch):
    from iftkit.evaluation.harness import ifbench

    evaluate, registry = ifbench.verifiers()

    def missing(*a, **k):
        raise LookupError("\n  Resource \x1b[93mstopwords\x1b[0m not found.\n")

    monkeypatch.setattr(ifbench, "verifiers", lambda: (missing, registry))
    res = get_scorer("ifbench").score_detailed([_sample([NO_SPACE], "Hello,world!")])
    assert res.values["ifbench_prompt_loose"] == [None]
    assert set(res.failed[0]) == {"ifbench_prompt_strict", "ifbench_prompt_loose", "ifbench_inst_strict",
                                  "ifbench_inst_loose"}
    assert res.details[0]["error"] == "missing NLTK data: stopwords"
