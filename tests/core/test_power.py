"""The power plan against whole simulated sweeps scored by the report's own test (stats.compare_arrays): its
minimum detectable difference lies within 20 % of the effect the simulated sweeps detect 80 % of the time."""

import numpy as np
import pytest

from iftkit.core import power, stats
from iftkit.meta import calibration

N, REPS, POINTS = 150, 1000, 4


def _sweeps(binary: bool, seeds: int, seed_sd: float, floor: bool, rng):
    """make(delta) -> (adapters (reps, POINTS, seeds, N), base (reps, 1, N)); adapter 0 leads adapter 1 (or, floor:
    the margin over 0.9 x base) by delta. Per-prompt scores of different models are independent, as the plan
    assumes, and a seed shifts every prompt of its adapter (0/1: the threshold)."""
    p, prompt_sd, w = 0.5, 0.2, (0.9 if floor else 1.0)
    shape = (REPS, POINTS, 1, N)
    u = rng.random(shape) if binary else prompt_sd * rng.standard_normal(shape)
    v = rng.random((REPS, 1, N)) if binary else prompt_sd * rng.standard_normal((REPS, 1, N))
    g = seed_sd * rng.standard_normal((REPS, POINTS, seeds, 1))

    def make(delta):
        shift = np.zeros(POINTS)
        shift[0] = (w - 1) * p + delta if floor else delta
        mean = p + shift[None, :, None, None] + g
        x = (u < mean).astype(float) if binary else mean + u
        return x, ((v < p).astype(float) if binary else p + v)

    prompt = (1 + w * w) * (p * (1 - p) if binary else prompt_sd**2)
    return make, power.Components(prompt, seed_sd**2, 0.0 if floor else seed_sd**2, w, binary)


def _simulated_mde(make, c: power.Components, floor: bool, seeds: int) -> float:
    """The effect the report's test detects (right side, p < 0.05) in 80 % of simulated sweeps (bisection)."""
    scale = stats.BINARY_SCALE if c.binary else stats.ScoreScale(stats.CONTINUOUS, 0.0, 1.0)

    def detected(delta):
        x, base = make(delta)
        pool = stats.pool_seeds([x[:, j] for j in range(POINTS)]) if seeds >= 2 else None
        b = base if floor else x[:, 1]
        r = stats.compare_arrays(x[:, 0], b, c.w, 0.95, scale, None, (pool, None if floor else pool))
        return np.mean((r["p"] < 0.05) & (r["value"] > 0))

    lo, hi = 0.0, 0.45
    for _ in range(10):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if detected(mid) >= 0.8 else (mid, hi)
    return (lo + hi) / 2


@pytest.mark.parametrize("binary,seeds,seed_sd,floor", [
    (True, 1, 0.0, False), (True, 2, 0.01, True), (True, 3, 0.04, False),
    (False, 1, 0.0, True), (False, 2, 0.01, False), (False, 3, 0.04, True),
])
def test_plan_matches_simulated_sweeps(binary, seeds, seed_sd, floor):
    make, c = _sweeps(binary, seeds, seed_sd, floor, np.random.default_rng(seeds))
    simulated = _simulated_mde(make, c, floor, seeds)
    d = power.Design(N, (seeds, 1 if floor else seeds), POINTS)
    planned = power.detectable(c, d)
    assert abs(planned - simulated) <= 0.2 * simulated, (planned, simulated)


def test_target_needs_more_prompts_or_seeds():
    c = power.Components(0.5, 0.01**2, 0.01**2, 1.0, True)
    d = power.Design(100, (3, 3), 4, 3)
    mde = power.detectable(c, d)
    n = power.prompts_needed(mde / 2, c, d)
    assert n is not None and n > 100
    assert power.detectable(c, power.Design(n, d.seeds, 4, 3)) <= mde / 2 < power.detectable(
        c, power.Design(n - 1, d.seeds, 4, 3))
    # the seed part alone is wider than a tiny target: no number of prompts reaches it, and seeds do
    assert power.prompts_needed(0.01, power.Components(0.5, 0.04**2, 0.04**2, 1.0, True), d) is None
    seedy, many = power.Components(0.5, 0.02**2, 0.02**2, 1.0, True), power.Design(5000, (2, 2), 4, 3)
    assert power.seeds_needed(0.08, seedy, many) == 4  # 2 seeds: 0.52, 3: 0.11, 4: 0.078
    assert power.seeds_needed(0.01, seedy, many) is None  # the prompt part alone is wider


def test_seed_prior_is_the_calibration_grids():
    """The prior's 0.06 is the seed sd the calibration grid's seed effect gives a point's mean at mean 0.57."""
    setting = calibration.Setting(0.0, True, "beta", 400, 5)
    x = calibration.simulate(setting, 200, np.random.default_rng(0))[:, 0]
    measured = x.mean(-1).std(-1, ddof=1).mean()
    prior = power.seed_prior(x[0, 0], stats.ScoreScale(stats.CONTINUOUS, 0.0, 1.0)) ** 0.5
    assert abs(prior - measured) <= 0.2 * measured, (prior, measured)
