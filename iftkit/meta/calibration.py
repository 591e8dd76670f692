"""Simulated sweeps with a known truth, to check that the comparison statistics mean what they say.

A simulated adapter answers prompt j with seed i with probability
sigmoid(mu + difficulty_j + effect_adapter + interaction_jk + seed_ik): prompts share a
difficulty (so the comparison is paired), each adapter has its own per-prompt strengths, and
each training seed shifts the whole adapter (the "seed effect" a sweep's seeds measure). Scores
are 0/1 (a task checker) or k/10 with k ~ Binomial(10, p) (a 0-10 judge). The true difference
is the expectation over new prompts and new seeds, computed by quadrature, and the adapter's
effect is solved so that it equals the difference asked for.

Two numbers per setting, from the same stats.compare_arrays the report uses:
- false_lead_rate: with equal adapters, how often the pick leads every other adapter after Holm's
  correction, i.e. the report would say "high" (goal <= 0.05);
- coverage: how often the 95 % interval of adapter 0 minus adapter 1 holds the truth (goal >= 0.93);
and, where the adapters differ, how often the interval detects it (excludes 0): the price of honesty.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from iftkit.core import stats

MU = 0.4  # base logit: about 0.6 right on an average prompt
DIFFICULTY_SD = 1.5  # prompts differ a lot in difficulty (what pairing removes)
INTERACTION_SD = 0.6  # adapters differ per prompt beyond their mean effect
SEED_SD = 0.35  # a training seed shifts the adapter's logit on every prompt (the "seed effect")


@dataclass
class Setting:
    truth: float  # true difference adapter 0 minus adapter 1 (0 = equal adapters)
    seed_effect: bool
    scores: str  # "binary" | "0-10"
    prompts: int
    seeds: int
    adapters: int = 2  # adapters in the simulated sweep (the recommendation's family)

    def label(self) -> str:
        seed = "seed effect" if self.seed_effect else "no seed effect"
        return (f"truth={self.truth:.2f} {seed:<14} {self.scores:<6} n={self.prompts:<3} seeds={self.seeds} "
                f"adapters={self.adapters}")


def _mean_p(effect: float, sd: float) -> float:
    """E[sigmoid(MU + effect + Z)], Z ~ N(0, sd^2), by Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float((special.expit(MU + effect + sd * x) * w).sum() / w.sum())


def _total_sd(seed_effect: bool) -> float:
    return float(np.sqrt(DIFFICULTY_SD**2 + INTERACTION_SD**2 + (SEED_SD**2 if seed_effect else 0.0)))


def effect_for(truth: float, seed_effect: bool) -> float:
    """The logit effect that makes adapter 0 beat adapter 1 by `truth` on new prompts and seeds."""
    if truth == 0:
        return 0.0
    sd = _total_sd(seed_effect)
    base = _mean_p(0.0, sd)
    return float(optimize.brentq(lambda e: _mean_p(e, sd) - base - truth, -5, 5))


def simulate(setting: Setting, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Scores (reps, adapters, seeds, prompts); adapter 0 carries the effect, the others are equal."""
    r, k, s, n = reps, setting.adapters, setting.seeds, setting.prompts
    logit = MU + DIFFICULTY_SD * rng.standard_normal((r, 1, 1, n))
    logit = logit + INTERACTION_SD * rng.standard_normal((r, k, 1, n))
    if setting.seed_effect:
        logit = logit + SEED_SD * rng.standard_normal((r, k, s, 1))
    effects = np.zeros(k)
    effects[0] = effect_for(setting.truth, setting.seed_effect)
    p = special.expit(logit + effects[None, :, None, None])
    p = np.broadcast_to(p, (r, k, s, n))
    if setting.scores == "binary":
        return (rng.random(p.shape) < p).astype(float)
    return rng.binomial(10, p) / 10.0


def evaluate(setting: Setting, reps: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """{"false_lead_rate": share of sweeps whose pick gets "high" (equal adapters only, else None),
    "coverage": share of 95 % intervals of adapter 0 - adapter 1 that hold the truth, "reps"}."""
    rng = np.random.default_rng(seed)
    x = simulate(setting, reps, rng)
    first = stats.compare_arrays(x[:, 0], x[:, 1], 1.0, level)
    coverage = float(np.mean((first["lo"] <= setting.truth) & (setting.truth <= first["hi"])))
    false_lead = detected = None
    if setting.truth == 0:
        false_lead = float(np.mean(high_confidence(x, level)))
    else:  # power: the interval excludes 0 on the right side
        detected = float(np.mean(first["lo"] > 0))
    return {"false_lead_rate": false_lead, "coverage": coverage, "detected": detected, "reps": reps}


def high_confidence(x: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Per simulated sweep: does the best adapter (highest mean) lead every other one after Holm?

    The same rule as report.summary's recommendation: pairwise comparisons of the pick with each
    other point, Holm-adjusted p below 1 - level for all of them."""
    r, k = x.shape[:2]
    best = x.mean((-2, -1)).argmax(1)
    picked = x[np.arange(r), best]
    pvals = []
    for j in range(k):
        other = stats.compare_arrays(picked, x[:, j], 1.0, level)["p"]
        pvals.append(np.where(best == j, np.nan, other))
    p = np.stack(pvals, -1)
    # the pick's own column is not a comparison: sort it last (p = 1) and size the family k - 1
    p = np.sort(np.where(np.isnan(p), 1.0, p), -1)[..., : k - 1]
    return np.all(stats.holm(p) < 1 - level, -1)


def grid() -> list[Setting]:
    """The settings of the README table: truths 0 / 0.05 / 0.10, with and without a seed effect,
    binary and 0-10 scores, 33 / 100 / 174 prompts, 2 / 3 / 5 seeds."""
    out = []
    for truth in (0.0, 0.05, 0.10):
        for seed_effect in (False, True):
            for scores in ("binary", "0-10"):
                for n in (33, 100, 174):
                    for s in (2, 3, 5):
                        out.append(Setting(truth, seed_effect, scores, n, s))
    return out
