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


# --- intervals chosen from the scorer's declared scale and type (issue 33) ---------------------

def _continuous_pair(seed=0, n=80):
    rng = np.random.default_rng(seed)
    b = rng.beta(5, 3, (2, n))
    a = np.clip(b + 0.03 + rng.normal(0, 0.08, (2, n)), 0, 1)
    return a, b


def test_the_same_data_in_other_units_gives_the_same_interval_up_to_the_factor():
    a, b = _continuous_pair()
    unit = stats.ScoreScale.declared(stats.CONTINUOUS, (0.0, 1.0))
    percent = stats.ScoreScale.declared(stats.CONTINUOUS, (0.0, 100.0))
    one, hundred = stats.paired_difference(a, b, scale=unit), stats.paired_difference(100 * a, 100 * b, scale=percent)
    assert (hundred.ci_low, hundred.ci_high) == pytest.approx((100 * one.ci_low, 100 * one.ci_high))
    assert hundred.p_value == pytest.approx(one.p_value)
    m1, m100 = stats.mean_interval(a, scale=unit), stats.mean_interval(100 * a, scale=percent)
    assert (m100.ci_low, m100.ci_high) == pytest.approx((100 * m1.ci_low, 100 * m1.ci_high))


def test_continuous_scores_get_the_paired_t_not_pseudo_prompts():
    a, b = _continuous_pair(1)
    d = a.mean(0) - b.mean(0)
    got = stats.paired_difference(a[:1], b[:1], scale=stats.ScoreScale.declared(stats.CONTINUOUS, (0, 1)))
    t = sps.ttest_rel(a[0], b[0])
    half = sps.t.ppf(0.975, len(d) - 1) * sps.sem(a[0] - b[0])
    assert got.p_value == pytest.approx(t.pvalue) and got.ci_high - got.ci_low == pytest.approx(2 * half)


def test_one_cosine_crossing_zero_does_not_switch_the_method():
    a, b = _continuous_pair(2)
    cosine = stats.ScoreScale.declared(stats.CONTINUOUS, (-1.0, 1.0))
    before = stats.paired_difference(a, b, scale=cosine)
    a2 = a.copy()
    a2[0, 0] = -0.01  # one answer's cosine dips below 0 (it was ~0.6): the verdict barely moves
    after = stats.paired_difference(a2, b, scale=cosine)
    # the same paired t before and after (no switch to pseudo-prompts on either side of the dip)
    for est, x in ((before, a), (after, a2)):
        d = x.mean(0) - b.mean(0)
        assert est.var_prompt == pytest.approx(d.var(ddof=1) / len(d)) and est.center == pytest.approx(d.mean())
    assert (after.p_value < 0.05) == (before.p_value < 0.05)


def test_intervals_stay_on_the_declared_scale():
    rng = np.random.default_rng(3)
    judge = stats.ScoreScale.declared(stats.CONTINUOUS, (0.0, 10.0))
    two_seeds = np.stack([rng.integers(0, 11, 30), rng.integers(3, 11, 30)]).astype(float)
    est = stats.mean_interval(two_seeds, scale=judge)
    assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 10.0
    binary = (rng.random((2, 40)) < np.array([[0.2], [0.9]])).astype(float)
    m = stats.mean_interval(binary, scale=stats.BINARY_SCALE)
    assert 0.0 <= m.ci_low and m.ci_high <= 1.0
    d = stats.paired_difference(two_seeds, two_seeds[::-1] * 0 + 5.0, scale=judge)
    assert -10.0 <= d.ci_low and d.ci_high <= 10.0


def test_prompts_that_share_a_cluster_widen_the_interval():
    rng = np.random.default_rng(4)
    clusters = np.repeat(np.arange(10), 10)
    shift = rng.normal(0, 0.2, 10)[clusters]  # the adapters differ by template, not by prompt
    b = rng.beta(4, 4, (1, 100))
    a = np.clip(b + 0.02 + shift + rng.normal(0, 0.02, (1, 100)), 0, 1)
    scale = stats.ScoreScale.declared(stats.CONTINUOUS, (0, 1))
    plain = stats.paired_difference(a, b, scale=scale)
    robust = stats.paired_difference(a, b, scale=scale, clusters=clusters)
    assert robust.clusters == 10 and robust.ci_high - robust.ci_low > 1.5 * (plain.ci_high - plain.ci_low)
    assert robust.df == pytest.approx(9.0)


def test_equivalence_needs_the_interval_inside_the_margin():
    rng = np.random.default_rng(5)
    b = rng.beta(5, 5, (3, 400))
    same = stats.paired_difference(b + rng.normal(0, 0.01, b.shape), b, scale=stats.ScoreScale.declared(None, (0, 1)))
    assert same.equivalence_p(0.02) < 0.05 and same.equivalence_p(0.0001) > 0.05
    noisy = stats.paired_difference(rng.beta(5, 5, (1, 30)), b[:1, :30], scale=stats.ScoreScale.declared(None, (0, 1)))
    assert noisy.p_value > 0.05 and noisy.equivalence_p(0.02) > 0.05  # not separated is not equivalent


def _sweep(rng, spreads, n=100, seeds=2):
    """Points (seeds x prompts) sharing a prompt difficulty, each seed shifting its point by N(0, spread)."""
    diff = rng.normal(0.6, 0.2, n)
    return [np.clip(diff + rng.normal(0, sd, (seeds, 1)) + rng.normal(0, 0.15, (seeds, n)), 0, 1) for sd in spreads]


def test_seed_variance_pooled_over_a_sweep_narrows_two_seed_intervals():
    pts = _sweep(np.random.default_rng(4), [0.03] * 4)
    pool = stats.pool_seeds(pts)
    assert pool.df == 4 and pool.points == 4 and bool(pool.used)
    # Bartlett's test of the points' seed means is scipy's where seeds vary beyond the prompt noise
    wide = _sweep(np.random.default_rng(4), [0.1] * 4, seeds=5)
    assert float(stats.pool_seeds(wide).p_check) == pytest.approx(sps.bartlett(*[x.mean(1) for x in wide]).pvalue)
    scale = stats.ScoreScale(stats.CONTINUOUS, 0.0, 1.0)
    alone = stats.paired_difference(pts[0], pts[1], scale=scale)
    pooled = stats.paired_difference(pts[0], pts[1], scale=scale, pools=(pool, pool))
    assert pooled.value == alone.value and pooled.df > alone.df
    assert pooled.ci_high - pooled.ci_low < 0.6 * (alone.ci_high - alone.ci_low)
    # swapping the sides still negates the interval exactly
    back = stats.paired_difference(pts[1], pts[0], scale=scale, pools=(pool, pool))
    assert (back.ci_low, back.ci_high) == pytest.approx((-pooled.ci_high, -pooled.ci_low))
    assert "pooled over the 4 points with seeds (4 degrees of freedom" in pool.words()


def test_seed_variances_that_differ_fail_the_check_and_each_point_keeps_its_own_term():
    pts = _sweep(np.random.default_rng(5), [0.2, 0.01, 0.01, 0.01], seeds=5)
    pool = stats.pool_seeds(pts)
    assert not bool(pool.used) and float(pool.p_check) < stats.POOL_CHECK_LEVEL
    alone = stats.paired_difference(pts[0], pts[1])
    fallback = stats.paired_difference(pts[0], pts[1], pools=(pool, pool))
    assert (fallback.ci_low, fallback.ci_high, fallback.df) == (alone.ci_low, alone.ci_high, alone.df)
    assert pool.words().startswith("Seed variances differ across the 4 points")


def test_no_pool_from_two_points_or_one_seed():
    rng = np.random.default_rng(6)
    assert stats.pool_seeds(_sweep(rng, [0.03] * 2)) is None
    assert stats.pool_seeds(_sweep(rng, [0.03] * 4, seeds=1)) is None
    # a point with one seed (the base model) adds nothing: three with seeds still pool
    assert stats.pool_seeds(_sweep(rng, [0.03] * 3) + _sweep(rng, [0.0], seeds=1)).df == 3


def test_a_pair_whose_own_seeds_vary_more_than_the_pool_keeps_its_own_spread():
    # one point's 2 seeds differ 5x the others': Bartlett's test cannot see it on 1 df a point, the comparison can
    pts = _sweep(np.random.default_rng(8), [0.0] * 4)
    pts = [x - x.mean(1, keepdims=True) + x.mean() + np.array([[-0.01], [0.01]]) for x in pts]
    pts[0] = pts[0] + np.array([[-0.04], [0.04]])
    pool = stats.pool_seeds(pts)
    assert bool(pool.used)
    deviant = stats.paired_difference(pts[0], pts[1], pools=(pool, pool))
    calm = stats.paired_difference(pts[2], pts[1], pools=(pool, pool))
    # the deviant pair reads its own seeds (more variance, Satterthwaite's df near 1), the calm one the pool's 4 df
    assert deviant.var_seed > 1.5 * calm.var_seed and deviant.df < 2 and calm.df == pytest.approx(4.0)


def _seeds_at(*means, n=100):
    """0/1 scores, one row per seed: seed j answers its first round(n x mean_j) prompts right."""
    return np.array([[1.0] * round(n * m) + [0.0] * (n - round(n * m)) for m in means])


def test_a_point_pinned_at_the_ceiling_stays_out_of_the_pool_instead_of_refusing_it():
    # the quickstart's seed means: ratio 1.0's two seeds answer all 100 prompts right; its zero spread is the scale's
    # bound, not evidence that the other points' seeds vary differently (Bartlett's check always refused: log 0)
    pts = [_seeds_at(0.40, 0.46), _seeds_at(0.88, 0.73), _seeds_at(0.97, 0.96)]
    ceiling = _seeds_at(1.0, 1.0)
    pool = stats.pool_seeds(pts + [ceiling])
    assert bool(pool.used) and pool.points == 3 and pool.df == 3 and pool.pinned == 1
    assert "(1 point left out: every score the same" in pool.words()
    # the pinned point keeps its own (zero) seed term; a point whose seeds vary less than the pool's reads the pool's
    # 3 df instead of its own 1 (t = 12.7): 0.430 [0.000, 1.000] before
    b = stats.BINARY_SCALE
    top = stats.mean_interval(ceiling, scale=b, pool=pool)
    assert (top.ci_low, top.ci_high) == (stats.mean_interval(ceiling, scale=b).ci_low, 1.0)
    own, pooled = stats.mean_interval(pts[0], scale=b), stats.mean_interval(pts[0], scale=b, pool=pool)
    assert (own.ci_low, own.ci_high) == (0.0, 1.0) and 0.1 < pooled.ci_low < pooled.ci_high < 0.8
    # two seeds with equal means that disagree on prompts (0/1 means tie often) do not refuse the pool either
    tie = np.array([[1.0, 0.0] * 50, [0.0, 1.0] * 50])
    assert bool(stats.pool_seeds(pts + [tie, ceiling]).used)
    # with the ceiling point only two points vary: no pool, and the words say why
    two = stats.pool_seeds(pts[:2] + [ceiling])
    assert not bool(two.used) and two.points == 2 and "fewer than the 3 a pool needs" in two.words()


def test_the_comparison_and_seed_modules_keep_their_names_importable_from_stats():
    from iftkit.core import compare, estimate, seeds

    for name in stats.__all__:
        assert hasattr(stats, name), name
    assert stats.compare_arrays is compare.compare_arrays and stats.paired_difference is compare.paired_difference
    assert stats.pool_seeds is seeds.pool_seeds and stats._seed_term is seeds._seed_term
    assert stats.Estimate is estimate.Estimate and issubclass(stats.Comparison, stats.Estimate)
