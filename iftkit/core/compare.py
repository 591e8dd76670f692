"""Comparisons of two models on the same prompts: the difference of means with its interval and p-value,
following what the scorer declares about its values (ScoreScale)."""

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats as sps

from iftkit.core.estimate import MIN_FOR_CI, Estimate
from iftkit.core.seeds import _seed_parts, _seed_term

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
    center, v_prompt, df_prompt = _prompt_part(d, w, scale, index)
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
        differing, p, lo, hi = _with_sign_test(d, level, p, (lo, hi))
    low, high = scale.difference_bounds(w)
    lo, hi = np.clip(lo, low, high), np.clip(hi, low, high)
    lo, hi = np.minimum(lo, value), np.maximum(hi, value)
    return {"value": value, "lo": lo, "hi": hi, "p": np.minimum(p, 1.0), "differing": differing, "df": df,
            "seed_share": seed_share, "var_prompt": v_prompt, "var_seed": v_a + v_b, "center": center,
            "clusters": None if index is None else int(index.max()) + 1}


def _prompt_part(d, w: float, scale: ScoreScale, index: Optional[np.ndarray]):
    """(the t interval's center, the prompt term's variance, its df) of the per-prompt differences d (..., n)."""
    n = d.shape[-1]
    if scale.kind == BINARY and index is None:
        # Agresti-Min: half a pseudo-prompt at each corner (1,1), (1,0), (0,1), (0,0)
        corners = np.array([1 - w, 1.0, -w, 0.0])
        weight, total = 0.5, n + 2
        center = (d.sum(-1) + weight * corners.sum()) / total
        ss = ((d - center[..., None]) ** 2).sum(-1) + weight * ((corners - center[..., None]) ** 2).sum(-1)
        return center, ss / (total - 1) / total, total - 1
    v_prompt, df_prompt = _prompt_term(d, n, index)
    return d.mean(-1), v_prompt, df_prompt


def _with_sign_test(d, level: float, p, bounds: tuple):
    """(differing prompts, p, lo, hi) with the exact sign test joined in where few prompts differ (w = 1 only)."""
    lo, hi = bounds
    n = d.shape[-1]
    nz = np.abs(d) > 1e-12
    k = nz.sum(-1)
    x = (d > 1e-12).sum(-1)
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
    return k, p, lo, hi


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
