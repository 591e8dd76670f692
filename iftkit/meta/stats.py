"""Rank statistics with bootstrap confidence intervals, over plain score arrays.

Everything here works on numbers only, so the requirement code (CIT/CAT/TFA) stays readable
and these functions can be checked against scipy on hand-made fixtures.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from scipy import stats as sps

DEFAULT_RESAMPLES = 1000
MIN_FOR_CI = 5  # below this a bootstrap interval is an artefact of resampling a handful of values


@dataclass
class Estimate:
    """A statistic with its percentile-bootstrap interval; value None = not measurable."""

    value: Optional[float]
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    n: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n, "note": self.note}

    def fmt(self, digits: int = 2) -> str:
        if self.value is None:
            return "n/a"
        if self.ci_low is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"


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


def paired_difference(
    a,
    b,
    b_weight: float = 1.0,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """mean(a) - b_weight * mean(b) over the prompts both scored, with a paired bootstrap CI.

    `a` and `b` (the reference, e.g. the base model) are each one score per prompt, or one row
    per seed (seeds x prompts), with aligned columns. Prompts are resampled together on both
    sides (the pairing); each side's seeds are resampled too when it has several.
    NaN marks a prompt a side did not score: that prompt is left out everywhere.
    """
    a = np.atleast_2d(np.asarray(a, dtype=float))
    b = np.atleast_2d(np.asarray(b, dtype=float))
    keep = np.all(np.isfinite(b), axis=0) & np.all(np.isfinite(a), axis=0)
    a, b = a[:, keep], b[:, keep]
    n, s, sb = a.shape[1], a.shape[0], b.shape[0]
    if n == 0:
        return Estimate(None, n=0, note="no prompt scored on both sides")
    point = float(a.mean() - b_weight * b.mean())
    if n < MIN_FOR_CI:
        return Estimate(point, n=n, note=f"only {n} values: no CI")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        p = rng.integers(0, n, n)
        rows = rng.integers(0, s, s) if s > 1 else np.zeros(1, dtype=int)
        rows_b = rng.integers(0, sb, sb) if sb > 1 else np.zeros(1, dtype=int)
        values.append(float(a[rows][:, p].mean() - b_weight * b[rows_b][:, p].mean()))
    return _percentile_interval(point, values, n, resamples, level)
