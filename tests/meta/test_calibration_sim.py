"""The comparison statistics checked by simulation with a known truth (a small setting of
scripts/calibrate_stats.py), and the same check catching the old seed-averaging comparison."""

import numpy as np

from iftkit.core import stats
from iftkit.meta import calibration_sim as calibration
from iftkit.meta.calibration_sim import Setting


def test_equal_adapters_with_a_seed_effect_rarely_get_high_confidence_and_intervals_cover():
    setting = Setting(0.0, True, "binary", prompts=100, seeds=2)
    got = calibration.evaluate(setting, reps=1500, seed=7)
    # goal 0.05 / 0.93; the margins are the Monte Carlo error of 1500 sweeps (about 0.006)
    assert got["false_lead_rate"] <= 0.065
    assert got["coverage"] >= 0.92


def test_a_known_difference_is_covered_on_0_to_10_scores():
    got = calibration.evaluate(Setting(0.10, True, "0-10", prompts=33, seeds=3), reps=800, seed=3)
    assert got["false_lead_rate"] is None and got["coverage"] >= 0.92


def _old_percentile_bootstrap_lead(a, b, resamples=300, seed=0):
    """A naive comparison (the one the calibration replaced): b's seeds averaged per prompt, a's seeds and the prompts
    resampled, percentile interval; True where the interval excludes 0."""
    rng = np.random.default_rng(seed)
    b = b.mean(-2)  # (reps, prompts): the runner-up's seed spread is gone
    r, s, n = a.shape
    prompts = rng.integers(0, n, (resamples, n))
    rows = rng.integers(0, s, (resamples, s))
    a_means = a[:, rows].mean(2)  # (reps, resamples, prompts)
    values = np.take_along_axis(a_means, prompts[None], 2).mean(-1) - b[:, prompts].mean(-1)
    lo, hi = np.quantile(values, [0.025, 0.975], axis=1)
    return (lo > 0) | (hi < 0)


def test_the_check_catches_the_old_comparison_that_averaged_the_runner_ups_seeds():
    setting = Setting(0.0, True, "binary", prompts=100, seeds=2)
    x = calibration.simulate(setting, 600, np.random.default_rng(7))
    new = stats.compare_arrays(x[:, 0], x[:, 1])["p"] < 0.05
    old = _old_percentile_bootstrap_lead(x[:, 0], x[:, 1])
    assert old.mean() > 0.09 and new.mean() < 0.065


def test_one_seed_per_point_never_says_high_and_covers_these_adapters_difference():
    got = calibration.evaluate(Setting(0.0, True, "beta", prompts=100, seeds=1), reps=1000, seed=11)
    assert got["false_lead_rate"] == 0.0 and got["coverage"] >= 0.92


def test_clustered_continuous_prompts_stay_calibrated():
    setting = Setting(0.0, True, "beta", prompts=100, seeds=2, cluster_size=10)
    got = calibration.evaluate(setting, reps=1000, seed=12)
    assert got["false_lead_rate"] <= 0.065 and got["coverage"] >= 0.92
    # told nothing about the clusters, the same statistics claim too much: the check sees it
    setting = Setting(0.0, False, "beta", prompts=100, seeds=5, cluster_size=10)
    x = calibration.simulate(setting, 1000,
                             np.random.default_rng(12))
    scale = calibration.SCALES["beta"]
    blind = stats.compare_arrays(x[:, 0], x[:, 1], 1.0, 0.95, scale)["p"] < 0.05
    told = stats.compare_arrays(x[:, 0], x[:, 1], 1.0, 0.95, scale, calibration.cluster_ids(setting))["p"] < 0.05
    assert blind.mean() > 0.15 and told.mean() < 0.065


def test_the_s1_floor_test_rarely_keeps_a_point_at_the_floor():
    got = calibration.evaluate(Setting(0.0, True, "0-10", prompts=100, seeds=2, test="floor"), reps=1000, seed=13)
    assert got["false_lead_rate"] <= 0.05 and got["coverage"] >= 0.92


def test_continuous_scores_keep_power_at_a_true_margin_over_the_floor():
    # the audit: the 0/1 corrections on continuous scores left the floor test 0.7 % power at +0.03
    got = calibration.evaluate(Setting(0.03, False, "beta", prompts=174, seeds=3, test="floor"), reps=600, seed=14)
    assert got["detected"] > 0.3


def test_the_effect_solved_for_gives_the_true_difference():
    rng = np.random.default_rng(0)
    x = calibration.simulate(Setting(0.10, True, "binary", prompts=400, seeds=5), 300, rng)
    assert abs((x[:, 0].mean() - x[:, 1].mean()) - 0.10) < 0.01


def test_four_equal_adapters_with_two_seeds_pooled_stay_calibrated():
    got = calibration.evaluate(Setting(0.0, True, "beta", prompts=100, seeds=2, adapters=4), reps=1000, seed=21)
    assert got["pooled"] > 0.8  # the check passes about 1 - POOL_CHECK_LEVEL of the time
    assert got["false_lead_rate"] <= 0.05 and got["coverage"] >= 0.93


def test_unequal_seed_variances_fail_the_pooling_check_and_stay_calibrated():
    # adapter 0's seeds vary 7x the others' (sd): with 5 seeds a point Bartlett's check sees it
    got = calibration.evaluate(Setting(0.0, True, "beta", prompts=100, seeds=5, adapters=4, unequal_seeds=True),
                               reps=800, seed=22)
    assert got["pooled"] < 0.15 and got["coverage"] >= 0.93 and got["false_lead_rate"] <= 0.05
    # with 2 seeds it mostly cannot, and the comparison's own pair keeps the interval honest
    got = calibration.evaluate(Setting(0.0, True, "beta", prompts=100, seeds=2, adapters=4, unequal_seeds=True),
                               reps=1000, seed=23)
    assert got["pooled"] > 0.5 and got["coverage"] >= 0.915 and got["false_lead_rate"] <= 0.05


def test_pooling_buys_two_seed_power_at_a_known_difference():
    setting = Setting(0.05, False, "beta", prompts=100, seeds=2, adapters=4)
    pooled = calibration.evaluate(setting, reps=1000, seed=24)
    alone = calibration.evaluate(Setting(**{**setting.__dict__, "pool": False}), reps=1000, seed=24)
    assert alone["pooled"] is None and alone["detected"] < 0.1
    assert pooled["detected"] > alone["detected"] + 0.15 and pooled["coverage"] >= 0.93
