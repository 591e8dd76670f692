"""Score-array statistics: bootstrap intervals for rank statistics (meta-eval), paired t intervals for the report.

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


# --- comparisons of two models on the same prompts -------------------------------------------
#
# A comparison resamples two things: the prompts (paired: both models answered the same ones)
# and each side's training seeds (independently). A bootstrap of 2 seeds sees 3 distinct seed
# means and halves their variance, so "high confidence" came out 12-21 % of the time for equal
# adapters. The intervals below are that two-way resampling done analytically: the prompt term
# and each side's seed term are estimated without bias and combined with Satterthwaite's degrees
# of freedom (2 seeds = 1 degree of freedom for that side's seed term: a wide t; pool_seeds pools
# it over a sweep's points where their seeds vary alike). A plug-in
# Satterthwaite df is itself anti-conservative when a term rests on 1-2 df (simulated: 8 % false
# leads at 2 seeds), so the df weigh each seed term at an upper value (row-mean variance times
# k / chi2_k(0.1)): when a lucky pair of seeds agrees, the t stays wide.
# The method follows what the scorer declares (ScoreScale), never the data's range: 0/1 scores get
# half a pseudo-prompt per corner (Agresti-Min), so an interval cannot collapse at 0 or 1; continuous
# scores get the plain paired t (pseudo-prompts at the corners of [0, 1] would widen a cosine or ROUGE
# interval 1.2-3.4x and change with the units). Where prompts share a cluster (a family, template or
# source) the prompt term is cluster-robust (CR1, G - 1 df). When few prompts differ, an exact sign test
# (Clopper-Pearson) takes over where it is the wider. Every interval is clipped to what the declared
# scale allows. scripts/calibrate_stats.py checks all of it by simulation with a known truth.

FEW_DIFFER = 25  # up to this many differing prompts the exact sign test joins the interval
# the seed terms' upper value for the df: row-mean variance x k / chi2_k(this). 0.3 and 0.2 left 5-seed comparisons
# of continuous scores at 5.3-5.8 % false leads (calibrate_stats.py); 0.1 holds them, at a cost in 2-seed power that
# pooling (pool_seeds) wins back for sweeps of 3+ points; 0.3 for the pooled term alone bought little (power 0.29 ->
# 0.31 at 4 adapters x 2 seeds) and cost coverage where one adapter's seeds vary 7x more (0.933 -> 0.927)
SEED_DF_QUANTILE = 0.1
DOMINANT = 0.75  # a seed term above this share of the (upper) variance sets the df alone
SHOW_DIFFER = 20  # the report names "k of n prompts differ" up to this many
BINARY, CONTINUOUS = "binary", "continuous"
EQUIVALENCE_SHARE = 0.02  # default equivalence margin: this share of the declared scale's width


@dataclass(frozen=True)
class ScoreScale:
    """What a scorer declares about one value: 0/1 (BINARY) or CONTINUOUS, and the range it lies in
    (None = unbounded on that side). The statistics choose their method from this alone."""

    kind: str = CONTINUOUS
    low: Optional[float] = None
    high: Optional[float] = None

    @classmethod
    def declared(cls, kind: Optional[str], scale=None) -> "ScoreScale":
        """From a scorer's (or a results row's) declaration; a missing or infinite bound is unbounded."""
        lo, hi = (list(scale) + [None, None])[:2] if scale is not None else (None, None)
        lo = None if lo is None or not math.isfinite(float(lo)) else float(lo)
        hi = None if hi is None or not math.isfinite(float(hi)) else float(hi)
        if kind == BINARY:
            return cls(BINARY, 0.0, 1.0)
        return cls(CONTINUOUS, lo, hi)

    @property
    def width(self) -> Optional[float]:
        return None if self.low is None or self.high is None else self.high - self.low

    def default_margin(self) -> Optional[float]:
        """The equivalence margin when none is set: EQUIVALENCE_SHARE of the width (0.02 on [0, 1])."""
        return None if self.width is None else EQUIVALENCE_SHARE * self.width

    def difference_bounds(self, w: float) -> tuple:
        """Where mean(a) - w mean(b) can lie: (low, high), -inf / inf where unbounded."""
        lo = -math.inf if self.low is None or self.high is None else self.low - w * self.high
        hi = math.inf if self.low is None or self.high is None else self.high - w * self.low
        if w == 0:
            lo = -math.inf if self.low is None else self.low
            hi = math.inf if self.high is None else self.high
        return lo, hi


UNDECLARED = ScoreScale()  # continuous and unbounded: the paired t, no clipping
BINARY_SCALE = ScoreScale(BINARY, 0.0, 1.0)


@dataclass
class Comparison(Estimate):
    """mean(a) - w * mean(b) with its interval, two-sided p-value against 0, and what it rests on."""

    p_value: Optional[float] = None
    differing: Optional[int] = None  # prompts whose seed-averaged scores differ (w = 1 only)
    df: Optional[float] = None  # Satterthwaite degrees of freedom of the t interval
    seed_share: float = 0.0  # share of the variance that comes from training seeds
    seeds: tuple = (1, 1)
    var_prompt: float = 0.0  # the difference's variance from sampling prompts (shrinks as 1 / prompts)
    var_seed: float = 0.0  # ... and from training seeds (more prompts do not shrink it)
    center: Optional[float] = None  # the t interval's center (Agresti-Min moves it for 0/1 scores)
    clusters: Optional[int] = None  # prompt clusters the prompt term was robust to (None: prompts independent)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "p_value": self.p_value, "differing": self.differing, "df": self.df,
                "seed_share": self.seed_share, "seeds": list(self.seeds), "clusters": self.clusters}

    def differ_text(self) -> str:
        """'4 of 40 prompts differ' when that number is small enough to matter, else ''."""
        if self.differing is None or self.differing > SHOW_DIFFER:
            return ""
        return f"{self.differing} of {self.n} prompts differ"

    def equivalence_p(self, margin: float) -> Optional[float]:
        """TOST: the larger of the two one-sided p-values against |difference| >= margin; below alpha,
        the difference is shown to lie within +-margin. None where the comparison has no interval."""
        if self.center is None or self.df is None or self.ci_low is None:
            return None
        se = math.sqrt(self.var_prompt + self.var_seed)
        if se == 0:
            return 0.0 if abs(self.center) < margin else 1.0
        below, above = (self.center + margin) / se, (margin - self.center) / se
        return float(max(sps.t.sf(below, self.df), sps.t.sf(above, self.df)))


def _seed_parts(x):
    """(variance of one seed's mean over the prompts, two-way residual mean square, df = seeds - 1) of x
    (..., s, n). Row means vary by the seed effect plus prompt-level noise / n; the residual measures that
    noise."""
    s, n = x.shape[-2], x.shape[-1]
    if s < 2:
        zero = np.zeros(x.shape[:-2])
        return zero, zero, 0
    var_rows = x.mean(-1).var(-1, ddof=1)
    if n > 1:
        resid = x - x.mean(-1, keepdims=True) - x.mean(-2, keepdims=True) + x.mean((-2, -1), keepdims=True)
        ms_e = (resid**2).sum((-2, -1)) / ((s - 1) * (n - 1))
    else:
        ms_e = np.zeros_like(var_rows)
    return var_rows, ms_e, s - 1


# Pooling the seed variance across the points of a sweep: 2 seeds give each point 1 df for its seed term, so its
# t quantile explodes (4 ratios x 2 seeds = 4 df pooled). Pooling assumes the points' seeds vary alike; Bartlett's
# test checks it on the row-mean variances, and below this level each point keeps its own term.
POOL_CHECK_LEVEL = 0.10
# with two points the pool is the pair each comparison already has, and 1-2 seeds each cannot show Bartlett's test
# that one varies more (simulated: 7.5 % false leads at 2 seeds pooled); three or more points also let a comparison
# see its own pair's seeds vary more than the pool (_seed_term)
MIN_POOL_POINTS = 3


@dataclass
class SeedPool:
    """The training-seed variance pooled over the points of one sweep (one suite and scorer), vectorised over
    leading axes: the pooled row-mean variance and residual mean square (df-weighted), their df (sum of
    seeds - 1 over the points), Bartlett's p of equal variances, and whether the pool is used (p >= level)."""

    rows: np.ndarray
    resid: np.ndarray
    df: int
    points: int
    p_check: np.ndarray
    used: np.ndarray
    level: float = POOL_CHECK_LEVEL
    pinned: int = 0  # points left out: every score one value (at a bound of the scale)

    def words(self) -> str:
        """One sentence for the report (scalar pools only)."""
        p = float(self.p_check)
        left = (f" ({self.pinned} point{'s' * (self.pinned > 1)} left out: every score the same, at the scale's "
                f"bound, where seeds cannot vary)") if self.pinned else ""
        if self.points < MIN_POOL_POINTS:
            return (f"Seed variance is not pooled: {self.points} point(s) with seeds vary{left}, fewer than the "
                    f"{MIN_POOL_POINTS} a pool needs, so each point's interval uses its own seeds' spread.")
        if bool(self.used):
            return (f"Training-seed variance is pooled over the {self.points} points with seeds ({self.df} degrees of "
                    f"freedom; Bartlett's test of equal seed variances p = {p:.2f} >= {self.level:g}){left}.")
        return (f"Seed variances differ across the {self.points} points (Bartlett's test p = {p:.3f} < "
                f"{self.level:g}){left}, so each point's interval uses its own seeds' spread, not a pooled one.")


def pool_seeds(arrays, level: float = POOL_CHECK_LEVEL, noise=None) -> Optional[SeedPool]:
    """Pool the seed terms of the points `arrays` (each (..., seeds, prompts), complete; points with one seed
    add nothing); None where fewer than MIN_POOL_POINTS points have 2+ seeds. Only independent training runs
    belong in one pool (not an adapter's checkpoints or rescalings: they share its seeds).

    A point whose every score is one value (all seeds right on every prompt: a 0/1 point at 1.000) is pinned at
    a bound of its scale: its seeds cannot vary there, so its zero variance says nothing about the others' and
    stays out of the pool and Bartlett's check (with it in, the check always refused: log 0). It keeps its own
    zero seed term (_seed_term). noise: the prompt noise in a seed's mean (residual / prompts) where `arrays` hold
    seed means alone (power.py's plans), else it is measured from the arrays."""
    xs = [np.asarray(x, dtype=float) for x in arrays if np.shape(x)[-2] >= 2]
    if len(xs) < MIN_POOL_POINTS:
        return None
    parts = [_seed_parts(x) for x in xs]
    v = np.stack([p[0] for p in parts], -1)
    e = np.stack([p[1] for p in parts], -1)
    pinned = np.stack([x.max((-2, -1)) == x.min((-2, -1)) for x in xs], -1)
    dfs = np.where(pinned, 0.0, np.array([p[2] for p in parts], dtype=float))
    total, k = dfs.sum(-1), (dfs > 0).sum(-1)
    def pooled(x):  # df-weighted over the unpinned points
        return np.where(total > 0, (x * dfs).sum(-1) / np.maximum(total, 1), 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        rows, resid = pooled(v), pooled(e)
        # the check reads each point's row-mean variance at least at what prompt noise alone gives it (residual /
        # prompts): 0/1 means lie on a grid, so two seeds often tie (v = 0) while disagreeing on prompts, and a tie
        # is chance, not a point whose seeds vary less (log 0 made Bartlett refuse every such sweep). Seeds that
        # agree on every prompt of a point that is not pinned still have log-variance -inf: Bartlett rejects.
        vc = np.maximum(v, e / xs[0].shape[-1] if noise is None else noise)
        rows_c = pooled(vc)
        tiny = 1e-300
        m = total * np.log(np.maximum(rows_c, tiny)) - (dfs * np.log(np.maximum(vc, tiny))).sum(-1)
        inv = np.where(dfs > 0, 1 / np.where(dfs > 0, dfs, 1), 0.0).sum(-1)
        c = 1 + (inv - 1 / np.maximum(total, 1)) / (3 * np.maximum(k - 1, 1))
        p = np.where(rows_c > 0, sps.chi2.sf(m / c, np.maximum(k - 1, 1)), 1.0)
    p = np.where(k >= MIN_POOL_POINTS, p, 0.0)  # fewer unpinned points than a pool needs: each keeps its own
    scalar = not np.ndim(total)
    return SeedPool(rows, resid, int(total) if scalar else total, int(k) if scalar else k, p, p >= level, level,
                    int(pinned.sum()) if scalar else 0)


def _combine(parts):
    """(row-mean variance, residual mean square, df) pooled over `parts` ((v, e, df) each), df-weighted; the df
    is Satterthwaite's for the sum (the total where the parts agree, down to one part's where one dominates)."""
    total = float(sum(p[2] for p in parts))
    v = sum(p[2] * p[0] for p in parts) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        den = sum(p[2] * p[0] ** 2 for p in parts)
        df = np.where(den > 0, (total * v) ** 2 / np.where(den > 0, den, 1), total)
    return v, sum(p[2] * p[1] for p in parts) / total, np.clip(df, min(p[2] for p in parts), total)


def _seed_term(own, s: int, n: int, pool: Optional[SeedPool] = None, local: tuple = ()):
    """(variance of a seed mean of s seeds over n prompts due to training seeds alone, the upper value the
    degrees of freedom weigh it at, its df, whether the pool carried it). own: the point's _seed_parts;
    pool: the sweep's SeedPool where the point is one of its points, used where its check passed; local: the
    parts of the points in this comparison. With the pool, the row-mean variance is the larger of the sweep's
    and the compared points' own pooled one (each with its df): a point whose seeds vary more than the others'
    (which 1-2 seeds per point cannot show Bartlett's test) keeps an honest term. The residual noise / n is
    taken off (the estimate kept >= 0)."""
    v, e, df = own
    if s < 2:
        return v, v, np.zeros(v.shape), np.zeros(v.shape, dtype=bool)
    df = np.full(v.shape, float(df))
    used = np.zeros(v.shape, dtype=bool)
    if pool is not None:
        # seeds that agree on every prompt: a point pinned at its scale's bound, left out of the pool (pool_seeds)
        used = np.broadcast_to(pool.used, v.shape) & ~((v == 0) & (e == 0))
        lv, le, ldf = _combine(local)
        wider = lv > pool.rows
        pv, pe = np.where(wider, lv, pool.rows), np.where(wider, le, pool.resid)
        v, e, df = np.where(used, pv, v), np.where(used, pe, e), np.where(used, np.where(wider, ldf, pool.df), df)
    upper = v / s * df / sps.chi2.ppf(SEED_DF_QUANTILE, df)
    return np.maximum(v - e / n, 0.0) / s, upper, df, used


def _cluster_index(clusters, n: int) -> Optional[np.ndarray]:
    """Cluster ids as 0..G-1 per prompt, or None where they cannot make a cluster-robust term (missing,
    one cluster, or every prompt its own)."""
    if clusters is None:
        return None
    ids = np.asarray(clusters, dtype=object)
    if ids.shape != (n,):
        raise ValueError(f"clusters: expected one id per prompt ({n}), got {ids.shape}")
    _, index = np.unique(ids.astype(str), return_inverse=True)
    g = index.max() + 1 if n else 0
    return index if 2 <= g < n else None


def _prompt_term(d, total_n: int, index: Optional[np.ndarray]):
    """(variance of the mean of d (..., n) from sampling prompts, its df): prompts independent, or CR1
    over clusters of prompts (never below the independent estimate: few clusters under-estimate)."""
    n = d.shape[-1]
    plain = d.var(-1, ddof=1) / n if n > 1 else np.zeros(d.shape[:-1])
    if index is None:
        return plain, max(total_n - 1, 1)
    g = int(index.max()) + 1
    resid = d - d.mean(-1, keepdims=True)
    sums = np.stack([resid[..., index == c].sum(-1) for c in range(g)], -1)
    robust = g / (g - 1) * (sums**2).sum(-1) / n**2
    return np.maximum(robust, plain), g - 1


def interval_df(v_prompt, df_prompt, seed_a: tuple, seed_b: tuple, shared):
    """Satterthwaite's df of a comparison's t interval: the prompt term (its variance, df) and each side's seed
    term at its upper value (upper variance, df); shared: both sides read one pooled estimate, so their seed terms
    are one chi-square term, not two independent ones. The one place these df are formed (compare_arrays and
    power.py's plans)."""
    (up_a, df_a), (up_b, df_b) = seed_a, seed_b
    with np.errstate(divide="ignore", invalid="ignore"):
        sep = (np.where(df_a > 0, up_a**2 / np.maximum(df_a, 1), 0.0)
               + np.where(df_b > 0, up_b**2 / np.maximum(df_b, 1), 0.0))
        den = v_prompt**2 / df_prompt + np.where(shared, (up_a + up_b) ** 2 / np.maximum(df_a, 1), sep)
        df = np.where(den > 0, (v_prompt + up_a + up_b) ** 2 / np.where(den > 0, den, 1), float(df_prompt))
        # a seed term that carries most of the variance sets the df: Satterthwaite's pooled df is liberal when
        # one term on few df dominates (5.5 % false leads at 5 seeds, one adapter's seeds varying 7x the other's)
        total_up = v_prompt + up_a + up_b
        terms = [(np.where(shared, up_a + up_b, up_a), df_a), (np.where(shared, 0.0, up_b), df_b)]
        for up, k in terms:
            df = np.where((k > 0) & (up > DOMINANT * total_up), np.minimum(df, np.maximum(k, 1)), df)
    return np.clip(df, 1.0, None)


def compare_arrays(a, b, w: float = 1.0, level: float = 0.95, scale: Optional[ScoreScale] = None,
                   clusters=None, pools: tuple = (None, None)) -> dict:
    """The comparison on complete arrays, vectorised over leading axes.

    a: (..., seeds_a, prompts), b: (..., seeds_b, prompts), no NaN. scale: what the scorer declares
    (None: continuous, unbounded); clusters: one id per prompt (prompts sharing a family, template or
    source), or None; pools: each side's SeedPool (pool_seeds) where it is one of the pooled points, else
    None. Returns arrays: value (the plain difference of means), lo, hi, p (two-sided,
    against 0), differing, df, seed_share, center, var_prompt, var_seed.
    The same code serves the report (one comparison) and calibrate_stats.py (thousands)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = scale or UNDECLARED
    n = a.shape[-1]
    index = _cluster_index(clusters, n)
    d = a.mean(-2) - w * b.mean(-2)  # per prompt, seeds averaged: (..., n)
    value = d.mean(-1)
    if scale.kind == BINARY and index is None:
        # Agresti-Min: half a pseudo-prompt at each corner (1,1), (1,0), (0,1), (0,0)
        corners = np.array([1 - w, 1.0, -w, 0.0])
        weight, total = 0.5, n + 2
        center = (d.sum(-1) + weight * corners.sum()) / total
        ss = ((d - center[..., None]) ** 2).sum(-1) + weight * ((corners - center[..., None]) ** 2).sum(-1)
        v_prompt, df_prompt = ss / (total - 1) / total, total - 1
    else:
        center = value
        v_prompt, df_prompt = _prompt_term(d, n, index)
    own_a, own_b = _seed_parts(a), _seed_parts(b)
    same_pool = pools[0] is not None and pools[0] is pools[1]
    local_a = (own_a, own_b) if same_pool and own_b[2] else (own_a,)
    local_b = (own_b, own_a) if same_pool and own_a[2] else (own_b,)
    v_a, up_a, df_a, pooled_a = _seed_term(own_a, a.shape[-2], n, pools[0], local_a)
    v_b, up_b, df_b, pooled_b = _seed_term(own_b, b.shape[-2], n, pools[1], local_b)
    v_b, up_b = w**2 * v_b, w**2 * up_b
    var = v_prompt + v_a + v_b
    # both sides read one pooled estimate: their seed terms are one chi-square term, not two independent ones
    shared = (pooled_a & pooled_b) if same_pool else np.zeros_like(pooled_a)
    df = interval_df(v_prompt, df_prompt, (up_a, df_a), (up_b, df_b), shared)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(var)
        tcrit = sps.t.ppf(0.5 + level / 2, df)
        lo, hi = center - tcrit * se, center + tcrit * se
        tstat = np.where(se > 0, np.abs(center) / np.where(se > 0, se, 1), np.where(center != 0, np.inf, 0.0))
        p = 2 * sps.t.sf(tstat, df)
        seed_share = np.where(var > 0, (v_a + v_b) / np.where(var > 0, var, 1), 0.0)
    differing = None
    if w == 1.0:
        nz = np.abs(d) > 1e-12
        k = nz.sum(-1)
        x = (d > 1e-12).sum(-1)
        differing = k
        # exact sign test on the differing prompts, and its Clopper-Pearson interval for the share
        # that favour a; the difference is (k / n) x mean |d| x (2 share - 1)
        p_sign = np.minimum(1.0, 2 * np.minimum(sps.binom.cdf(x, k, 0.5), sps.binom.sf(x - 1, k, 0.5)))
        alpha = 1 - level
        with np.errstate(divide="ignore", invalid="ignore"):
            share_lo = np.where(x > 0, sps.beta.ppf(alpha / 2, x, k - x + 1), 0.0)
            share_hi = np.where(x < k, sps.beta.ppf(1 - alpha / 2, x + 1, k - x), 1.0)
            mag = np.where(k > 0, np.abs(d).sum(-1) / np.maximum(k, 1), 0.0) * k / n
        few = k <= FEW_DIFFER
        p = np.where(few, np.maximum(p, p_sign), p)
        lo = np.where(few, np.minimum(lo, mag * (2 * share_lo - 1)), lo)
        hi = np.where(few, np.maximum(hi, mag * (2 * share_hi - 1)), hi)
    low, high = scale.difference_bounds(w)
    lo, hi = np.clip(lo, low, high), np.clip(hi, low, high)
    lo, hi = np.minimum(lo, value), np.maximum(hi, value)
    return {"value": value, "lo": lo, "hi": hi, "p": np.minimum(p, 1.0), "differing": differing, "df": df,
            "seed_share": seed_share, "var_prompt": v_prompt, "var_seed": v_a + v_b, "center": center,
            "clusters": None if index is None else int(index.max()) + 1}


def paired_difference(a, b, b_weight: float = 1.0, level: float = 0.95, scale: Optional[ScoreScale] = None,
                      clusters=None, pools: tuple = (None, None)) -> Comparison:
    """mean(a) - b_weight * mean(b) over the prompts both scored, prompts paired, seeds per side.

    `a` and `b` (e.g. the base model) are each one score per prompt, or one row per seed
    (seeds x prompts), with aligned columns. NaN marks a prompt a side did not score: that
    prompt is left out everywhere. Swapping a and b (b_weight 1) negates the interval exactly.
    scale: the scorer's declaration (None: continuous, unbounded); clusters: one id per column; pools: each
    side's SeedPool where it is a pooled point of the sweep.
    """
    a = np.atleast_2d(np.asarray(a, dtype=float))
    b = np.atleast_2d(np.asarray(b, dtype=float))
    keep = np.all(np.isfinite(b), axis=0) & np.all(np.isfinite(a), axis=0)
    a, b = a[:, keep], b[:, keep]
    if clusters is not None:
        clusters = np.asarray(clusters, dtype=object)[keep]
    n, seeds = a.shape[1], (a.shape[0], b.shape[0])
    if n == 0:
        return Comparison(None, n=0, note="no prompt scored on both sides", seeds=seeds)
    point = float(a.mean() - b_weight * b.mean())
    if n < MIN_FOR_CI:
        return Comparison(point, n=n, note=f"only {n} values: no CI", seeds=seeds)
    r = compare_arrays(a, b, b_weight, level, scale, clusters, pools)
    differing = None if r["differing"] is None else int(r["differing"])
    return Comparison(point, float(r["lo"]), float(r["hi"]), n=n, p_value=float(r["p"]), differing=differing,
                      df=float(r["df"]), seed_share=float(r["seed_share"]), seeds=seeds,
                      var_prompt=float(r["var_prompt"]), var_seed=float(r["var_seed"]), center=float(r["center"]),
                      clusters=r["clusters"])


def prompts_to_decide(c: Comparison, tests: int = 1, level: float = 0.95, power: float = 0.8) -> Optional[int]:
    """Held-out prompts that would put 0 outside c's interval with `power` at its current estimate,
    at the Bonferroni level over `tests` (Holm's strictest step); None where no number of
    prompts can: the seed term alone is wider than the estimate (more seeds are needed)."""
    if c.value is None or not c.n:
        return None
    z = sps.norm.ppf(1 - (1 - level) / (2 * tests)) + sps.norm.ppf(power)
    room = (c.value / z) ** 2 - c.var_seed
    if room <= 0:
        return None
    return int(math.ceil(c.n * c.var_prompt / room))


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
