"""The training-seed term of a comparison: each point's seed variance, pooled over a sweep's points where their
seeds vary alike (core/compare.py reads it; core/power.py plans with it)."""

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats as sps

# the seed terms' upper value for the df: row-mean variance x k / chi2_k(this). 0.3 and 0.2 left 5-seed comparisons
# of continuous scores at 5.3-5.8 % false leads (calibrate_stats.py); 0.1 holds them, at a cost in 2-seed power that
# pooling (pool_seeds) wins back for sweeps of 3+ points; 0.3 for the pooled term alone bought little (power 0.29 ->
# 0.31 at 4 adapters x 2 seeds) and cost coverage where one adapter's seeds vary 7x more (0.933 -> 0.927)
SEED_DF_QUANTILE = 0.1


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
