import pytest

from iftkit.meta.human import HumanPair, load_human
from iftkit.meta.pairwise import judge_pairs, one_at_a_time, summarise

from .test_human import LLMBAR

PAIRS = [
    HumanPair("q1", "a correct and long answer", "wrong", "a"),
    HumanPair("q2", "no", "the right answer here", "b"),
    HumanPair("q3", "short good", "a much longer bad answer", "a"),
    HumanPair("q4", "same", "same!", "tie"),
]


def first_slot(prompt, first, second):
    return "a"


def longer(prompt, first, second):
    return "a" if len(first) >= len(second) else "b"


def test_always_first_judge_shows_full_position_bias_and_chance_agreement():
    s = summarise(judge_pairs(one_at_a_time(first_slot), PAIRS), resamples=100)
    assert s["first_slot_rate"]["value"] == 1.0
    assert s["order_consistency"]["value"] == 0.0
    # both orders disagree on every pair -> combined verdict is a tie -> half credit
    assert s["agreement_both_orders"]["value"] == 0.5
    assert s["parse_failure_rate"] == 0.0


def test_length_loving_judge_shows_length_bias_not_position_bias():
    s = summarise(judge_pairs(one_at_a_time(longer), PAIRS), resamples=100)
    assert s["longer_chosen_rate"]["value"] == 1.0
    assert s["first_slot_rate"]["value"] == 0.5
    # humans preferred the longer answer in 2 of the 3 decided pairs
    assert s["human_longer_rate"]["value"] == pytest.approx(2 / 3)
    assert s["agreement_both_orders"]["value"] == pytest.approx(2 / 3)


def test_unparseable_verdicts_are_counted_not_guessed():
    s = summarise(judge_pairs(lambda triples: [None] * len(triples), PAIRS), resamples=50)
    assert s["parse_failure_rate"] == 1.0 and s["agreement_both_orders"]["value"] is None


def test_batch_judge_must_answer_every_comparison():
    with pytest.raises(ValueError, match="returned 1 verdicts for 8"):
        judge_pairs(lambda triples: ["a"], PAIRS)


@pytest.mark.skipif(not LLMBAR.is_file(), reason="../shared/data/llmbar/LLMBar_Natural.json not present")
def test_llmbar_measurement_with_a_deterministic_fake_judge():
    """The measurement path on the real human labels. The judge is a test double that always
    picks the longer answer, so its agreement must equal how often humans picked the longer one."""
    pairs = load_human(LLMBAR)
    s = summarise(judge_pairs(one_at_a_time(longer), pairs), resamples=200)
    decided = [p for p in pairs if len(p.response_a) != len(p.response_b)]
    human_longer = sum((p.preference == "a") == (len(p.response_a) > len(p.response_b)) for p in decided) / len(decided)
    assert s["pairs"] == 100
    assert s["longer_chosen_rate"]["value"] == 1.0
    assert s["first_slot_rate"]["value"] == pytest.approx(0.5, abs=0.01)
    assert s["human_longer_rate"]["value"] == pytest.approx(human_longer)
    assert s["agreement_both_orders"]["value"] == pytest.approx(human_longer, abs=0.01)
    lo, hi = s["agreement_both_orders"]["ci_low"], s["agreement_both_orders"]["ci_high"]
    assert lo < s["agreement_both_orders"]["value"] < hi


def test_trust_table_puts_the_judge_next_to_the_prefer_longer_and_chance_baselines():
    from iftkit.meta.pairwise import chance_summary, prefer_longer, trust_table, verdict_line

    s = summarise(judge_pairs(one_at_a_time(first_slot), PAIRS), resamples=50)
    s["baselines"] = {
        "prefer_longer": summarise(judge_pairs(prefer_longer, PAIRS), resamples=50),
        "chance": chance_summary(),
    }
    assert verdict_line(s) == "judge verdicts: 8 scored, 0 unparseable"
    longer_base = s["baselines"]["prefer_longer"]
    assert longer_base["longer_chosen_rate"]["value"] == 1.0 and longer_base["order_consistency"]["value"] == 1.0
    assert longer_base["agreement_both_orders"]["value"] == pytest.approx(2 / 3)  # as the length-loving judge above
    table = trust_table("judge_pairwise", s)
    assert [row.split(" | ")[0] for row in table[2:]] == [
        "| judge_pairwise",
        "| baseline: prefer longer",
        "| baseline: chance",
    ]
    assert table[2].split(" | ")[4].startswith("0.00 ")  # position consistency of an always-first judge
    assert "0.50 (expected)" in table[4]


def test_probabilities_averaged_over_both_orders_cancel_a_constant_position_bias():
    """A judge whose argmax is always the first slot, but whose probabilities lean 0.1 towards
    the longer answer: argmax verdicts tie in both orders, the averaged probabilities do not."""

    def judge(triples):
        return [("a", None, 0.7 + (0.1 if len(first) > len(second) else -0.1)) for _, first, second in triples]

    s = summarise(judge_pairs(judge, PAIRS), resamples=50)
    assert s["agreement_both_orders"]["value"] == 0.5 and s["first_slot_rate"]["value"] == 1.0
    assert s["agreement_both_orders_probs"]["value"] == pytest.approx(2 / 3)  # humans chose the longer in 2 of 3
