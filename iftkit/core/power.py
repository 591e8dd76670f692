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
Checked against whole simulated sweeps scored by compare_arrays (tests/core/test_power.py).
"""

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import optimize
from scipy import stats as sps

from iftkit.core.stats import BINARY, MIN_POOL_POINTS, ScoreScale, _seed_term, interval_df, pool_seeds

POWER = 0.8
ALPHA = 0.05
DRAWS = 4000  # draws of the estimates per plan: the power's Monte Carlo error is about 0.006 at 0.8
# The seed prior before training: the sd of one training seed's mean score, as a share of the declared scale's width
# at mid-scale, shrunk by 4 m (1 - m) toward its ends (a seed shifts the logit; the slope flattens at the edges).
# It is the calibration grid's seed effect (meta/calibration.py SEED_SD = 0.35 logits), which measures 0.058 there at
# mean 0.57, 0/1 and Beta scores alike. The quickstart's own 2-seed points spread wider where a seed learns the format
# or not (README, "What it found"): a prior, stated in every plan, replaced by the measured spread after the sweep.
SEED_SD_PRIOR = 0.06
# on an unbounded scale: the seed sd as a share of the per-prompt sd (the same grid's Beta scores: 0.19)
SEED_SD_PER_PROMPT = 0.19
MAX_PROMPTS = 100_000
MAX_SEEDS = 20


@dataclass(frozen=True)
class Components:
    """A planned comparison a - w b: prompt = variance of one prompt's difference (seeds averaged); seed_a / seed_b
    = variance of one training seed's mean score on each side (0: no training seed, as the base model)."""

    prompt: float
    seed_a: float = 0.0
    seed_b: float = 0.0
    w: float = 1.0
    binary: bool = False


@dataclass(frozen=True)
class Design:
    """n prompts, seeds per side (b: 1 for the base model), the trained points of the sweep (its seed pool when 3+
    have 2+ seeds; b is one of them unless it is the base model) and the comparisons in the Holm family."""

    n: int
    seeds: tuple = (1, 1)
    points: int = 2
    tests: int = 1


def _seed_draws(c: Components, d: Design, rng) -> tuple:
    """Each side's (estimated seed term, upper value, df) over DRAWS draws, as compare_arrays forms them."""
    s_a, s_b = d.seeds
    trained_b = c.seed_b > 0 and s_b >= 2
    means = [np.sqrt(c.seed_a) * rng.standard_normal((DRAWS, s_a, 1))]
    means.append(np.sqrt(c.seed_b) * rng.standard_normal((DRAWS, s_b, 1)) if trained_b else np.zeros((DRAWS, 1, 1)))
    others = max(d.points - (2 if trained_b else 1), 0)
    pool = None
    if s_a >= 2 and d.points >= MIN_POOL_POINTS:
        sd = math.sqrt(c.seed_a)
        members = [means[0]] + ([means[1]] if trained_b else [])
        members += [sd * rng.standard_normal((DRAWS, s_a, 1)) for _ in range(others)]
        pool = pool_seeds(members)
    parts = [_seed_parts_of(m) for m in means]
    same = pool is not None and trained_b
    local_a = (parts[0], parts[1]) if same else (parts[0],)
    v_a, up_a, df_a, used_a = _seed_term(parts[0], means[0].shape[1], d.n, pool, local_a)
    v_b, up_b, df_b, used_b = _seed_term(parts[1], means[1].shape[1], d.n, pool if same else None,
                                         (parts[1], parts[0]) if same else (parts[1],))
    shared = (used_a & used_b) if same else np.zeros(DRAWS, dtype=bool)
    return (v_a, up_a, df_a), (c.w**2 * v_b, c.w**2 * up_b, df_b), shared


def _seed_parts_of(means: np.ndarray) -> tuple:
    """stats._seed_parts of seed means alone (no prompt-level residual: one value per seed)."""
    s = means.shape[1]
    if s < 2:
        zero = np.zeros(means.shape[0])
        return zero, zero, 0
    return means[:, :, 0].var(-1, ddof=1), np.zeros(means.shape[0]), s - 1


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
    """The variance of one training seed's mean score before any was trained (SEED_SD_PRIOR)."""
    base, _ = _spread(base, scale)
    if scale.width:
        m = min(max((float(np.mean(base)) - scale.low) / scale.width, 0.0), 1.0)
        return (SEED_SD_PRIOR * scale.width * 4 * m * (1 - m)) ** 2
    return (SEED_SD_PER_PROMPT * float(np.std(base, ddof=1))) ** 2


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
