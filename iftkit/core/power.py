"""Power: the smallest difference a paired comparison of stats.compare_arrays detects, and what would reach a
target, from variance components alone (before training: the base model's scores and a stated prior).

A comparison's difference a - w b has a prompt part (the variance of one prompt's difference, seeds
averaged, over n prompts) and a seed part (the variance of one training seed's mean score, over each side's
seeds). compare_arrays estimates both, pools the seed part over the sweep's points (Bartlett's check) and tests
with a t whose df weigh the seed terms at an upper value. With 2-3 seeds those estimates are so variable that
no normal formula predicts its power, so the power here averages over draws of the estimates themselves:
the seed means of every pooled point are drawn, pooled by stats.pool_seeds, read by stats._seed_term and
stats.interval_df (the report's own code), the prompt term is drawn as a chi-square; the difference is detected
where its estimate clears the t quantile times the estimated standard error, on the right side (a 0/1 center
is Agresti-Min's). tests > 1 applies Holm's strictest step (alpha / tests), as prompts_to_decide does.
Checked against whole simulated sweeps scored by compare_arrays (tests/core/test_power.py): within 10 % mostly,
15 % for 0/1 scores at 2 seeds, where seeds that agree on every prompt make Bartlett's check refuse the pool more
often than normal draws do. The formula this replaces (2.8 sqrt(2 m (1 - m) / n), summary.detectable_difference)
took a proportion's variance for every scorer (a continuous score of sd 0.05 read 0.25 where 0.03 is detected),
and counted neither seeds nor Holm's correction.
Not modelled: the exact sign test that joins compare_arrays' interval where at most 25 prompts differ (small 0/1
tests with few discordant prompts detect less than planned) and cluster-robust prompt terms.
"""

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import optimize
from scipy import stats as sps

from iftkit.core.stats import BINARY, CONTINUOUS, MIN_POOL_POINTS, ScoreScale, _seed_term, interval_df, pool_seeds

POWER = 0.8
ALPHA = 0.05
DRAWS = 4000  # draws of the estimates per plan: the power's Monte Carlo error is about 0.006 at 0.8
# The seed prior before training: the sd of one training seed's mean score as a share of the per-prompt sd. It is the
# calibration grid's seed effect (meta/calibration_sim.py SEED_SD = 0.35), which measures 0.12 of the per-prompt sd
# for 0/1 scores and 0.19 for Beta (continuous) ones at mean 0.57 (tests/core/test_power.py). The quickstart's own
# 2-seed points spread wider where one seed learns the format and the other does not
# (docs/results/2026-12-07-measurements.md): a prior, stated in every plan, replaced by the measured spread
# after the sweep.
SEED_SD_PER_PROMPT = {BINARY: 0.12, CONTINUOUS: 0.19}
# The residual prior: the share of a prompt's score variance that changes from seed to seed of one point (0/1 at
# p = 0.5: two seeds disagree on 10 % of prompts). A guess stated in every plan: it matters at 2-3 seeds, where it
# weighs on the interval's df (Components), and the report's measured plan replaces it.
RESID_SHARE = 0.2
MAX_PROMPTS = 100_000
MAX_SEEDS = 20


@dataclass(frozen=True)
class Components:
    """A planned comparison a - w b: prompt = variance of one prompt's difference (seeds averaged); seed_a / seed_b
    = variance of one training seed's mean score on each side (0: no training seed, as the base model); resid = how
    much one prompt's score varies from seed to seed beyond that shift (the two-way residual mean square). The
    residual matters at few seeds: compare_arrays weighs each seed term at the upper value of its row-mean variance,
    which carries resid / n, so seeds that disagree prompt by prompt narrow the df even with no seed effect."""

    prompt: float
    seed_a: float = 0.0
    seed_b: float = 0.0
    w: float = 1.0
    binary: bool = False
    resid: float = 0.0


@dataclass(frozen=True)
class Design:
    """n prompts, seeds per side (b: 1 for the base model), the trained points of the sweep (its seed pool when 3+
    have 2+ seeds; b is one of them unless it is the base model) and the comparisons in the Holm family."""

    n: int
    seeds: tuple = (1, 1)
    points: int = 2
    tests: int = 1


def _seed_draws(c: Components, d: Design, rng) -> tuple:
    """Each side's (estimated seed term, upper value, df) over DRAWS draws, as compare_arrays forms them: the
    seed means carry the seed effect plus resid / n; the residual itself is estimated on (s - 1)(n - 1) df,
    close enough to its value to be taken as it."""
    s_a, s_b = d.seeds
    trained_b = (c.seed_b > 0 or c.resid > 0) and s_b >= 2
    noise = c.resid / d.n

    def draw(var, s):
        return math.sqrt(var + noise) * rng.standard_normal((DRAWS, s, 1))

    means = [draw(c.seed_a, s_a), draw(c.seed_b, s_b) if trained_b else np.zeros((DRAWS, 1, 1))]
    others = max(d.points - (2 if trained_b else 1), 0)
    pool = None
    if s_a >= 2 and d.points >= MIN_POOL_POINTS:
        members = [means[0]] + ([means[1]] if trained_b else []) + [draw(c.seed_a, s_a) for _ in range(others)]
        pool = pool_seeds(members, noise=noise)
        pool.resid = np.full(DRAWS, c.resid)
    parts = [_seed_parts_of(m, c.resid) for m in means]
    same = pool is not None and trained_b
    local_a = (parts[0], parts[1]) if same else (parts[0],)
    v_a, up_a, df_a, used_a = _seed_term(parts[0], means[0].shape[1], d.n, pool, local_a)
    v_b, up_b, df_b, used_b = _seed_term(parts[1], means[1].shape[1], d.n, pool if same else None,
                                         (parts[1], parts[0]) if same else (parts[1],))
    shared = (used_a & used_b) if same else np.zeros(DRAWS, dtype=bool)
    return (v_a, up_a, df_a), (c.w**2 * v_b, c.w**2 * up_b, df_b), shared


def _seed_parts_of(means: np.ndarray, resid: float) -> tuple:
    """stats._seed_parts from drawn seed means and the residual."""
    s = means.shape[1]
    if s < 2:
        zero = np.zeros(means.shape[0])
        return zero, zero, 0
    return means[:, :, 0].var(-1, ddof=1), np.full(means.shape[0], resid), s - 1


def true_variance(c: Components, d: Design) -> float:
    """The variance of the difference's estimate; a side with one seed adds no seed part (its comparison speaks
    of these adapters on new prompts, not of retraining)."""
    seed = (c.seed_a / d.seeds[0] if d.seeds[0] >= 2 else 0.0) + (
        c.w**2 * c.seed_b / d.seeds[1] if d.seeds[1] >= 2 else 0.0)
    return c.prompt / d.n + seed


def _estimates(c: Components, d: Design, alpha: float):
    """(estimated standard error, critical t) per draw."""
    rng = np.random.default_rng(0)  # the same draws every time: a plan is a number, not a sample
    df_prompt = d.n + 1 if c.binary else max(d.n - 1, 1)
    v_prompt = c.prompt / d.n * rng.chisquare(df_prompt, DRAWS) / df_prompt
    a, b, shared = _seed_draws(c, d, rng)
    df = interval_df(v_prompt, df_prompt, (a[1], a[2]), (b[1], b[2]), shared)
    return np.sqrt(v_prompt + a[0] + b[0]), sps.t.ppf(1 - alpha / (2 * d.tests), df)


def power_at(delta: float, c: Components, d: Design, alpha: float = ALPHA, _est=None) -> float:
    """Probability that the two-sided test at alpha (Holm's strictest step over d.tests) shows `delta` (> 0)."""
    se, crit = _est if _est is not None else _estimates(c, d, alpha)
    sd = math.sqrt(true_variance(c, d))
    center = (d.n * delta + (1 - c.w)) / (d.n + 2) if c.binary else delta
    if sd == 0:
        return float(np.mean(center > crit * se))
    return float(np.mean(sps.norm.cdf((center - crit * se) / sd)))


def detectable(c: Components, d: Design, power: float = POWER, alpha: float = ALPHA) -> Optional[float]:
    """The smallest difference shown with `power` (None: no variance to plan from; inf: none is)."""
    sd = math.sqrt(true_variance(c, d))
    if sd <= 0 or not math.isfinite(sd):
        return None
    est = _estimates(c, d, alpha)
    hi = sd
    while power_at(hi, c, d, alpha, est) < power:
        hi *= 2
        if hi > 1e4 * sd:
            return math.inf
    return float(optimize.brentq(lambda x: power_at(x, c, d, alpha, est) - power, 0.0, hi, xtol=sd * 1e-4))


def prompts_needed(target: float, c: Components, d: Design, power: float = POWER) -> Optional[int]:
    """Prompts that detect `target` with these seeds; None where none can (the seed part alone is too wide)."""
    if (detectable(c, Design(MAX_PROMPTS, d.seeds, d.points, d.tests), power) or 0) > target:
        return None
    lo, hi = 2, MAX_PROMPTS
    while lo < hi:
        mid = (lo + hi) // 2
        if (detectable(c, Design(mid, d.seeds, d.points, d.tests), power) or 0) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def seeds_needed(target: float, c: Components, d: Design, power: float = POWER) -> Optional[int]:
    """Seeds per trained side that detect `target` with these prompts; None beyond MAX_SEEDS (the prompt part
    alone is too wide). The base model (seed_b 0) keeps its one seed."""
    for s in range(max(d.seeds[0], 1), MAX_SEEDS + 1):
        seeds = (s, s if c.seed_b > 0 else d.seeds[1])
        if (detectable(c, Design(d.n, seeds, d.points, d.tests), power) or 0) <= target:
            return s
    return None


def _spread(base: np.ndarray, scale: ScoreScale) -> tuple:
    """(the base model's scores, or stand-ins at mid-scale where they do not vary, and words for that). A constant
    base (0/1 scores all wrong: a format the adapters will learn) says nothing of the adapters' spread: a 0/1
    scale is planned at p = 0.5 and a bounded one with scores spread evenly over it, the widest plausible."""
    b = np.asarray(base, dtype=float)
    if len(b) < 2 or np.ptp(b) > 0 or scale.width is None:
        return b, ""
    lo, hi = scale.low, scale.high
    stand_in = np.array([lo, hi]) if scale.kind == BINARY else np.linspace(lo, hi, 11)
    return np.resize(stand_in, max(len(b), len(stand_in))), f"the base model scores {b[0]:g} on every prompt, so "


def seed_prior(base: np.ndarray, scale: ScoreScale) -> float:
    """The variance of one training seed's mean score before any was trained (SEED_SD_PER_PROMPT)."""
    b, _ = _spread(base, scale)
    return (SEED_SD_PER_PROMPT[scale.kind] * _sd(b, scale)) ** 2


def _sd(b: np.ndarray, scale: ScoreScale) -> float:
    return math.sqrt(b.mean() * (1 - b.mean())) if scale.kind == BINARY else float(b.std(ddof=1))


def resid_prior(base: np.ndarray, scale: ScoreScale) -> float:
    """The seed-to-seed variance of one prompt's score before any seed was trained (RESID_SHARE)."""
    b, _ = _spread(base, scale)
    return RESID_SHARE * _sd(b, scale) ** 2


def prompt_variance(base: np.ndarray, scale: ScoreScale, w: float = 1.0) -> tuple[float, str]:
    """The per-prompt variance of a - w b from the base model's scores alone, and the assumption in words.
    The adapter's per-prompt scores are assumed independent of the base model's (a shared prompt difficulty
    makes the real variance smaller, so the plan errs wide) and as variable: 0/1 scores then differ on a
    share 2 p (1 - p) of prompts; seeds averaged are assumed not to shrink it."""
    b, constant = _spread(base, scale)
    if scale.kind == BINARY:
        p = float(b.mean())
        return (1 + w**2) * p * (1 - p), (f"{constant}0/1 scores discordant on 2p(1-p) = {2 * p * (1 - p):.2f} of "
                                          f"prompts at p = {p:.2f}, as if independent of the base model's")
    return (1 + w**2) * float(b.var(ddof=1)), (f"{constant}per-prompt sd {float(b.std(ddof=1)):.3f}, "
                                               "as if independent of the base model's")
