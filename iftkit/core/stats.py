"""Score-array statistics: bootstrap intervals for rank statistics (meta-eval), paired t intervals for the report.

Everything here works on numbers only, so the requirement code (CIT/CAT/TFA) stays readable
and these functions can be checked against scipy on hand-made fixtures.
"""

import math
from typing import Callable, Optional, Sequence

import numpy as np
from scipy import stats as sps

# the estimate, the seed term and the comparisons live in their own modules; these names stay importable from here
from iftkit.core.compare import (
    BINARY,
    BINARY_SCALE,
    CONTINUOUS,
    DOMINANT,
    EQUIVALENCE_SHARE,
    FEW_DIFFER,
    SHOW_DIFFER,
    UNDECLARED,
    Comparison,
    ScoreScale,
    compare_arrays,
    interval_df,
    paired_difference,
    prompts_to_decide,
)
from iftkit.core.estimate import MIN_FOR_CI, Estimate
from iftkit.core.seeds import (
    MIN_POOL_POINTS,
    POOL_CHECK_LEVEL,
    SEED_DF_QUANTILE,
    SeedPool,
    _combine,
    _seed_parts,
    _seed_term,
    pool_seeds,
)

__all__ = ["BINARY", "BINARY_SCALE", "CONTINUOUS", "DEFAULT_RESAMPLES", "DOMINANT", "EQUIVALENCE_SHARE",
           "FEW_DIFFER", "MIN_FOR_CI", "MIN_POOL_POINTS", "POOL_CHECK_LEVEL", "SEED_DF_QUANTILE", "SHOW_DIFFER",
           "UNDECLARED", "Comparison", "Estimate", "ScoreScale", "SeedPool", "_combine", "_seed_parts", "_seed_term",
           "bootstrap", "bootstrap_groups", "calibration_gap", "calibration_slope", "compare_arrays", "holm",
           "interval_df", "kendall", "mean_defined", "mean_interval", "pairwise_win_rate", "paired_difference",
           "pool_seeds", "prompts_to_decide", "spearman", "wilson"]

DEFAULT_RESAMPLES = 1000


def _clean(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def kendall(x, y) -> Optional[float]:
    """Kendall tau-b; None when either side is constant (no ranking to compare)."""
    x, y = _clean(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(sps.kendalltau(x, y).statistic)


def spearman(x, y) -> Optional[float]:
    x, y = _clean(x, y)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(sps.spearmanr(x, y).statistic)


def bootstrap(
    statistic: Callable[..., Optional[float]],
    arrays: Sequence[Sequence[float]],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Percentile bootstrap over rows (all arrays resampled with the same indices)."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    n = len(arrays[0])
    point = statistic(*arrays) if n else None
    if point is None or (isinstance(point, float) and math.isnan(point)):
        return Estimate(None, n=n, note="constant or too few values")
    if n < MIN_FOR_CI:
        return Estimate(float(point), n=n, note=f"only {n} values: no CI")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        v = statistic(*(a[idx] for a in arrays))
        if v is not None and not math.isnan(v):
            values.append(v)
    return _percentile_interval(point, values, n, resamples, level)


def bootstrap_groups(
    statistic: Callable[[list], Optional[float]],
    groups: list,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    strata: Optional[int] = None,
) -> Estimate:
    """Bootstrap a statistic of a list of groups by resampling *within* each group.

    Used for per-task averages: each task keeps its size, so a big task cannot vanish.
    `strata` names an array of each group (e.g. the model ids) to resample within, so every
    resample keeps the same members with the same sample counts; without it a statistic over
    per-model means sees models vanish and ties break, and its CI can miss its own estimate.
    """
    point = statistic(groups)
    n = sum(len(g[0]) for g in groups)
    if point is None:
        return Estimate(None, n=n, note="not measurable on these samples")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        resampled = []
        for g in groups:
            m = len(g[0])
            if strata is None:
                idx = rng.integers(0, m, m)
            else:
                labels = np.asarray(g[strata])
                idx = np.concatenate(
                    [rng.choice(np.flatnonzero(labels == u), int((labels == u).sum())) for u in np.unique(labels)]
                )
            resampled.append([np.asarray(a)[idx] for a in g])
        v = statistic(resampled)
        if v is not None and not math.isnan(v):
            values.append(v)
    return _percentile_interval(point, values, n, resamples, level)


def _percentile_interval(point: float, values: list, n: int, resamples: int, level: float) -> Estimate:
    """The percentile CI of the resampled values, or the estimate alone where a CI would mislead."""
    if len(values) < resamples // 2:
        # most resamples were degenerate: the interval would be meaningless
        return Estimate(float(point), n=n, note="too few distinct values for a CI")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    if not lo <= point <= hi:
        # terms enter or leave the statistic as resampling breaks ties: no honest CI
        return Estimate(float(point), n=n, note="no CI: the resampled statistic is biased on these samples")
    return Estimate(float(point), float(lo), float(hi), n=n)


def mean_defined(values) -> Optional[float]:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


def pairwise_win_rate(higher, lower) -> Optional[float]:
    """P(higher > lower) + 0.5 P(tie): an AUC, 0.5 = the scorer cannot tell them apart."""
    higher, lower = _clean(higher, lower)
    if not len(higher):
        return None
    return float(np.mean((higher > lower) + 0.5 * (higher == lower)))


def calibration_slope(scorer, reference) -> Optional[float]:
    """Least-squares slope of scorer on reference: how many scorer units one reference unit is worth."""
    x, y = _clean(reference, scorer)
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    return float(np.polyfit(x, y, 1)[0])


def calibration_gap(scorer, reference) -> Optional[float]:
    """Mean scorer value on correct answers minus on wrong ones (reference >= / < 0.5)."""
    x, y = _clean(reference, scorer)
    good, bad = y[x >= 0.5], y[x < 0.5]
    if not len(good) or not len(bad):
        return None
    return float(good.mean() - bad.mean())


def wilson(successes, n, level: float = 0.95):
    """Wilson score interval of a proportion (vectorised); for a mean of [0, 1] scores it is
    conservative, since p (1 - p) is the largest variance such a mean can have."""
    z = sps.norm.ppf(0.5 + level / 2)
    n = np.asarray(n, dtype=float)
    phat = np.asarray(successes, dtype=float) / n
    center = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return center - half, center + half


def mean_interval(a, level: float = 0.95, scale: Optional[ScoreScale] = None, clusters=None,
                  pool: Optional[SeedPool] = None) -> Estimate:
    """Mean of seeds x prompts scores: the t interval with the seed term (cluster-robust where prompts
    share a cluster), clipped to the declared scale; 0/1 scores widen it to Wilson's, so 40 of 40
    right reads 1.000 [0.912, 1.000], never [1.000, 1.000]. scale None: continuous, unbounded; pool: the sweep's
    SeedPool where this point is one of its points."""
    scale = scale or UNDECLARED
    a = np.atleast_2d(np.asarray(a, dtype=float))
    keep = np.all(np.isfinite(a), axis=0)
    a = a[:, keep]
    if clusters is not None:
        clusters = np.asarray(clusters, dtype=object)[keep]
    n = a.shape[1]
    if n == 0:
        return Estimate(None, n=0, note="no prompt scored")
    point = float(a.mean())
    if n < MIN_FOR_CI:
        return Estimate(point, n=n, note=f"only {n} values: no CI")
    r = compare_arrays(a, np.zeros((1, n)), 0.0, level, ScoreScale(CONTINUOUS, scale.low, scale.high), clusters,
                       (pool, None))
    lo, hi = float(r["lo"]), float(r["hi"])
    if scale.kind == BINARY:
        wl, wh = wilson(point * n, n, level)
        lo, hi = max(min(lo, float(wl)), 0.0), min(max(hi, float(wh)), 1.0)
    return Estimate(point, lo, hi, n=n)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control over the comparisons);
    vectorised over leading axes, the family on the last one."""
    p = np.asarray(p_values, dtype=float)
    m = p.shape[-1]
    if m == 0:
        return p
    order = np.argsort(p, axis=-1)
    sorted_p = np.take_along_axis(p, order, -1) * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(sorted_p, axis=-1), 1.0)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, -1)
    return out
