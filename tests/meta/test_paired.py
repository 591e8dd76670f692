"""Paired bootstrap of a score difference (adapter vs base on the same prompts)."""

import numpy as np
import pytest

from iftkit.core.stats import BINARY_SCALE, holm, mean_interval, paired_difference


def test_identical_predictions_give_zero_and_no_claim():
    scores = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 1], dtype=float)
    est = paired_difference(scores, scores, scale=BINARY_SCALE)
    # 10 identical answers do not prove two models equal: the interval keeps some width
    assert (est.value, est.n, est.differing, est.p_value) == (0.0, 10, 0, 1.0)
    assert est.ci_low == pytest.approx(-est.ci_high) and est.ci_high > 0.05


def test_a_known_shift_is_inside_the_ci_and_zero_is_not():
    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.2, 200)
    adapter = base + 0.1 + rng.normal(0, 0.02, 200)  # every prompt gains about 0.1
    est = paired_difference(adapter, base)
    assert est.value == pytest.approx(0.1, abs=0.01)
    assert est.ci_low < 0.1 < est.ci_high and est.ci_low > 0 and est.p_value < 1e-6


def test_pairing_makes_the_ci_narrower_than_the_spread_of_the_scores():
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 1, 100)
    est = paired_difference(base + 0.05, base)
    assert est.ci_high - est.ci_low < 1e-9  # the same shift on every prompt: no uncertainty left


def test_weighted_reference_and_missing_prompts():
    a = np.array([1.0, 1.0, np.nan, 1.0, 1.0, 1.0])
    b = np.array([1.0, 1.0, 1.0, 1.0, 1.0, np.nan])
    est = paired_difference(a, b, b_weight=0.95)
    assert est.n == 4 and est.value == pytest.approx(0.05) and est.ci_low is None  # 4 < the CI minimum


def test_two_seeds_that_disagree_give_a_wide_interval():
    base = np.tile([0.0, 1.0], 20)
    seeds = np.stack([base + 0.0, base + 0.2])  # two seeds that disagree by 0.2 on every prompt
    est = paired_difference(seeds, base)
    assert est.value == pytest.approx(0.1) and est.seeds == (2, 1)
    # the seed term alone (1 degree of freedom) carries the interval: far wider than the seeds' own range
    assert est.ci_low < -0.5 and est.ci_high > 0.7 and est.seed_share == pytest.approx(1.0) and est.df < 2
    one_seed = paired_difference(seeds[:1] + 0.1, base)  # the same mean from one seed: no seed term
    assert one_seed.ci_high - one_seed.ci_low < 1e-9


def test_swapping_the_arguments_negates_the_interval_exactly():
    rng = np.random.default_rng(5)
    a = (rng.random((2, 60)) < 0.6).astype(float)
    b = (rng.random((3, 60)) < 0.5).astype(float)
    ab, ba = paired_difference(a, b, scale=BINARY_SCALE), paired_difference(b, a, scale=BINARY_SCALE)
    assert ab.value == pytest.approx(-ba.value)
    assert (ab.ci_low, ab.ci_high) == pytest.approx((-ba.ci_high, -ba.ci_low))
    assert ab.p_value == pytest.approx(ba.p_value) and ab.seeds == (2, 3) and ba.seeds == (3, 2)


def test_few_differing_prompts_use_the_exact_sign_test():
    # 4 failed answers on 4 prompts out of 40: the sign test gives p = 2 / 2**4 = 0.125
    a = np.array([1.0] * 40)
    b = np.array([0.0] * 4 + [1.0] * 36)
    est = paired_difference(a, b, scale=BINARY_SCALE)
    assert est.value == pytest.approx(0.1) and est.p_value == pytest.approx(0.125)
    assert est.ci_low < 0 < est.ci_high and est.differ_text() == "4 of 40 prompts differ"


def test_bounded_scores_do_not_collapse_at_one():
    full = mean_interval(np.ones(40), scale=BINARY_SCALE)
    assert full.value == 1.0 and full.ci_high == 1.0 and 0.90 < full.ci_low < 0.92  # Wilson: 0.912
    same = paired_difference(np.ones(40), np.ones(40), scale=BINARY_SCALE)
    assert same.ci_low < 0 < same.ci_high and same.differing == 0


def test_holm_adjusts_step_down():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
