"""Paired bootstrap of a score difference (adapter vs base on the same prompts)."""

import numpy as np
import pytest

from iftkit.meta.stats import paired_difference


def test_identical_predictions_give_zero_with_a_zero_width_ci():
    scores = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, 1], dtype=float)
    est = paired_difference(scores, scores)
    assert (est.value, est.ci_low, est.ci_high, est.n) == (0.0, 0.0, 0.0, 10)


def test_a_known_shift_is_inside_the_ci_and_zero_is_not():
    rng = np.random.default_rng(3)
    base = rng.normal(0.5, 0.2, 200)
    adapter = base + 0.1 + rng.normal(0, 0.02, 200)  # every prompt gains about 0.1
    est = paired_difference(adapter, base, resamples=500)
    assert est.value == pytest.approx(0.1, abs=0.01)
    assert est.ci_low < 0.1 < est.ci_high and est.ci_low > 0


def test_pairing_makes_the_ci_narrower_than_the_spread_of_the_scores():
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 1, 100)
    est = paired_difference(base + 0.05, base, resamples=300)
    assert est.ci_high - est.ci_low < 1e-9  # the same shift on every prompt: no uncertainty left


def test_weighted_reference_and_missing_prompts():
    a = np.array([1.0, 1.0, np.nan, 1.0, 1.0, 1.0])
    b = np.array([1.0, 1.0, 1.0, 1.0, 1.0, np.nan])
    est = paired_difference(a, b, b_weight=0.95)
    assert est.n == 4 and est.value == pytest.approx(0.05) and est.ci_low is None  # 4 < the CI minimum


def test_seeds_are_resampled_too():
    base = np.tile([0.0, 1.0], 20)
    seeds = np.stack([base + 0.0, base + 0.2])  # two seeds that disagree by 0.2
    est = paired_difference(seeds, base, resamples=400)
    assert est.value == pytest.approx(0.1)
    assert est.ci_low == pytest.approx(0.0) and est.ci_high == pytest.approx(0.2)
