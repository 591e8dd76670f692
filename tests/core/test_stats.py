import numpy as np
import pytest
from scipy import stats as sps

from iftkit.core import stats


def test_rank_correlations_match_scipy_and_refuse_constant_input():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = x + rng.normal(scale=0.8, size=40)
    assert stats.kendall(x, y) == pytest.approx(sps.kendalltau(x, y).statistic)
    assert stats.spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic)
    assert stats.kendall(x, np.ones(40)) is None
    assert stats.spearman([1.0], [2.0]) is None


def test_bootstrap_interval_brackets_point_and_is_reproducible():
    rng = np.random.default_rng(2)
    x = rng.normal(size=60)
    y = x + rng.normal(scale=1.0, size=60)
    a = stats.bootstrap(stats.kendall, [x, y], resamples=300, seed=3)
    b = stats.bootstrap(stats.kendall, [x, y], resamples=300, seed=3)
    assert a.ci_low < a.value < a.ci_high
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.ci_high - a.ci_low < 0.5
    # a perfectly monotone relation has a degenerate interval at 1
    c = stats.bootstrap(stats.kendall, [x, 2 * x + 1], resamples=200)
    assert c.value == pytest.approx(1.0) and c.ci_low == pytest.approx(1.0)


def test_bootstrap_of_constant_scores_is_not_measurable():
    est = stats.bootstrap(stats.kendall, [np.zeros(10), np.arange(10.0)], resamples=50)
    assert est.value is None and est.fmt() == "n/a"


def test_win_rate_counts_ties_half_and_calibration_gap():
    assert stats.pairwise_win_rate([1, 0, 0.5], [0, 0, 1]) == pytest.approx((1 + 0.5 + 0) / 3)
    assert stats.calibration_gap([0.9, 0.8, 0.1], [1, 1, 0]) == pytest.approx(0.75)
    assert stats.calibration_gap([0.9, 0.8], [1, 1]) is None
    assert stats.calibration_slope([0.0, 5.0, 10.0], [0.0, 0.5, 1.0]) == pytest.approx(10.0)


def test_biased_resampled_statistic_reports_no_ci():
    import numpy as np

    from iftkit.core.stats import bootstrap_groups

    values = np.arange(10.0)
    # distinct values: 10 in the data, ~6.5 in any resample, so a percentile CI would miss 10
    est = bootstrap_groups(lambda groups: float(len(set(groups[0][0].tolist()))), [(values,)], resamples=200)
    assert est.value == 10.0 and est.ci_low is None and "biased" in est.note


def test_strata_keep_each_member_in_every_resample():
    import numpy as np

    from iftkit.core.stats import bootstrap_groups

    model = np.array(["a"] * 5 + ["b"] * 5 + ["c"] * 5)
    score = np.concatenate([np.full(5, 0.1), np.full(5, 0.5), np.full(5, 0.9)])
    seen = []

    def members(groups):
        seen.append(sorted(set(groups[0][1].tolist())))
        return float(np.mean(groups[0][0]))

    est = bootstrap_groups(members, [(score, model)], resamples=50, strata=1)
    assert (
        all(s == ["a", "b", "c"] for s in seen)
        and abs(est.ci_low - est.value) < 1e-9
        and abs(est.ci_high - est.value) < 1e-9
    )
