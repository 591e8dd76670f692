"""Simulated sweeps with a known truth, to check that the comparison statistics mean what they say.

A simulated adapter answers prompt j with seed i with probability
sigmoid(mu + difficulty_j + effect_adapter + interaction_jk + seed_ik): prompts share a
difficulty (so the comparison is paired), each adapter has its own per-prompt strengths, and
each training seed shifts the whole adapter (the "seed effect" a sweep's seeds measure). Prompts
may come in clusters (a family or template) that share part of the difficulty and of each adapter's
strength; adapters may differ in how much their seeds vary; mu may sit near the ceiling. A score is
0/1 (a task checker), k in 0..10 with k ~ Binomial(10, p) (a 0-10 judge, declared on [0, 10]), or
Beta with mean p (a continuous score in [0, 1]: embedding-like, ROUGE, item F1). The true difference
is the expectation over new prompts and new seeds, computed by quadrature, and the adapter's effect
is solved so that it equals the difference asked for. With one seed per point the seed term cannot
be measured, so the report speaks of these adapters on new prompts (never "high"), and coverage is
checked against that conditional truth.

Numbers per setting, from the same stats.compare_arrays the report uses, told the score's declared
scale and type, the prompts' clusters and the sweep's pooled seed variance (stats.pool_seeds over the
adapters, Bartlett's check) as the report is:
- false_lead_rate: with equal adapters, how often the pick leads every other adapter after Holm's
  correction with 2+ seeds, i.e. the report would say "high" (goal <= 0.05); for the S1 floor test,
  how often a point exactly at the floor is shown above it;
- coverage: how often the 95 % interval of adapter 0 minus adapter 1 (floor test: the general
  margin over keep x base) holds the truth (goal >= 0.93);
and, where the truth is positive, how often the interval detects it (lies above 0): the price of honesty.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from iftkit.core import stats

MU = 0.4  # base logit: about 0.6 right on an average prompt
CEILING_MU = 3.0  # near the ceiling: about 0.9 right on average
DIFFICULTY_SD = 1.5  # prompts differ a lot in difficulty (what pairing removes)
INTERACTION_SD = 0.6  # adapters differ per prompt beyond their mean effect
SEED_SD = 0.35  # a training seed shifts the adapter's logit on every prompt (the "seed effect")
UNEQUAL_SEED_SD = (0.7, 0.1)  # adapter 0's seeds vary far more than the others'
CLUSTER_SHARE = 0.5  # with clusters: share of the difficulty and interaction variance the cluster carries
BETA_PRECISION = 8.0  # Beta(p k, (1 - p) k): a continuous score with mean p
KEEP = 0.95  # the S1 floor: keep_general x base
SCALES = {"binary": stats.BINARY_SCALE, "beta": stats.ScoreScale(stats.CONTINUOUS, 0.0, 1.0),
          "0-10": stats.ScoreScale(stats.CONTINUOUS, 0.0, 10.0)}
UNIT = {"binary": 1.0, "beta": 1.0, "0-10": 10.0}  # the declared scale's units per unit of p


@dataclass
class Setting:
    truth: float  # true difference adapter 0 minus adapter 1 (0 = equal adapters), in units of p
    seed_effect: bool
    scores: str  # "binary" | "beta" | "0-10"
    prompts: int
    seeds: int
    adapters: int = 2  # adapters in the simulated sweep (the recommendation's family)
    cluster_size: int = 0  # prompts per cluster (0: independent prompts)
    unequal_seeds: bool = False  # adapter 0's seed effect is UNEQUAL_SEED_SD[0], the others' [1]
    ceiling: bool = False  # mu near the ceiling
    test: str = "lead"  # "lead": adapter 0 vs adapter 1; "floor": S1's adapter 0 vs KEEP x the base model
    pool: bool = True  # the seed variance pooled over the sweep's adapters where Bartlett's check allows (the report)

    def label(self) -> str:
        seed = ("unequal seed sd" if self.unequal_seeds else "seed effect") if self.seed_effect else "no seed effect"
        extra = "".join([f" clusters of {self.cluster_size}" if self.cluster_size else "",
                         " near ceiling" if self.ceiling else "", " S1 floor test" if self.test == "floor" else "",
                         "" if self.pool else " unpooled"])
        return (f"truth={self.truth:.2f} {seed:<15} {self.scores:<6} n={self.prompts:<3} seeds={self.seeds} "
                f"adapters={self.adapters}{extra}")

    def kind(self) -> str:
        """The row of the tables this setting belongs to."""
        seed = ("unequal seed sd" if self.unequal_seeds else "seed effect") if self.seed_effect else "no seed effect"
        extra = "".join([f", clusters of {self.cluster_size}" if self.cluster_size else "",
                         ", near ceiling" if self.ceiling else "", ", S1 floor test" if self.test == "floor" else "",
                         f", {self.adapters} adapters" if self.adapters != 2 else "",
                         "" if self.pool else ", seed terms unpooled"])
        return f"truth {self.truth:.2f}, {seed}, {self.scores}{extra}"

    @property
    def mu(self) -> float:
        return CEILING_MU if self.ceiling else MU

    def seed_sds(self) -> np.ndarray:
        """Seed-effect sd of each adapter."""
        if not self.seed_effect:
            return np.zeros(self.adapters)
        if self.unequal_seeds:
            return np.array([UNEQUAL_SEED_SD[0]] + [UNEQUAL_SEED_SD[1]] * (self.adapters - 1))
        return np.full(self.adapters, SEED_SD)


def _mean_p(effect, sd: float, mu: float = MU):
    """E[sigmoid(mu + effect + Z)], Z ~ N(0, sd^2), by Gauss-Hermite quadrature (vectorised over effect)."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    effect = np.asarray(effect, dtype=float)
    return (special.expit(mu + effect[..., None] + sd * x) * w).sum(-1) / w.sum()


PROMPT_SD = float(np.sqrt(DIFFICULTY_SD**2 + INTERACTION_SD**2))  # what a new prompt adds, seeds aside


def effect_for(truth: float, sd0: float, sd1: float, mu: float = MU, weight: float = 1.0) -> float:
    """The logit effect that makes adapter 0 (seed sd sd0) beat weight x adapter 1 (seed sd sd1) by `truth`
    on new prompts and seeds."""
    t0, t1 = np.hypot(PROMPT_SD, sd0), np.hypot(PROMPT_SD, sd1)
    target = weight * float(_mean_p(0.0, t1, mu)) + truth
    if truth == 0 and weight == 1 and sd0 == sd1:
        return 0.0
    return float(optimize.brentq(lambda e: float(_mean_p(e, t0, mu)) - target, -12, 12))


def simulate(setting: Setting, reps: int, rng: np.random.Generator, return_truth: bool = False):
    """Scores (reps, adapters, seeds, prompts) in the declared scale's units; adapter 0 carries the effect,
    the others are equal. For the floor test adapter 1 is the base model (one seed, no seed effect) and the
    truth is adapter 0 - KEEP x base. With return_truth, also each sweep's truth (conditional on the
    seeds drawn where there is one seed per point)."""
    r, k, s, n = reps, setting.adapters, setting.seeds, setting.prompts
    share = CLUSTER_SHARE if setting.cluster_size else 0.0
    clusters = cluster_ids(setting)
    g = clusters.max() + 1
    diff = DIFFICULTY_SD * (np.sqrt(1 - share) * rng.standard_normal((r, 1, 1, n))
                            + np.sqrt(share) * rng.standard_normal((r, 1, 1, g))[..., clusters])
    inter = INTERACTION_SD * (np.sqrt(1 - share) * rng.standard_normal((r, k, 1, n))
                              + np.sqrt(share) * rng.standard_normal((r, k, 1, g))[..., clusters])
    sds = setting.seed_sds()
    floor = setting.test == "floor"
    if floor:
        sds[1:] = 0.0  # the base model is one fixed model: no training seed
    seed = sds[None, :, None, None] * rng.standard_normal((r, k, s, 1))
    if floor:
        seed[:, 1:] = 0.0
    effects = np.zeros(k)
    weight = KEEP if floor else 1.0
    effects[0] = effect_for(setting.truth, sds[0], sds[1], setting.mu, weight)
    p = special.expit(setting.mu + diff + inter + seed + effects[None, :, None, None])
    x = _draw(p, setting.scores, rng)
    if not return_truth:
        return x
    truth = np.full(r, setting.truth)
    if s == 1 and setting.seed_effect:  # these adapters' difference on new prompts
        truth = (_mean_p(effects[0] + seed[:, 0, 0, 0], PROMPT_SD, setting.mu)
                 - weight * _mean_p(seed[:, 1, 0, 0], PROMPT_SD, setting.mu))
    return x, truth * UNIT[setting.scores]


def _draw(p: np.ndarray, scores: str, rng: np.random.Generator) -> np.ndarray:
    if scores == "binary":
        return (rng.random(p.shape) < p).astype(float)
    if scores == "beta":
        return rng.beta(np.maximum(p * BETA_PRECISION, 1e-3), np.maximum((1 - p) * BETA_PRECISION, 1e-3))
    return rng.binomial(10, p).astype(float)  # 0-10 judge verdicts, on their declared scale


def cluster_ids(setting: Setting) -> np.ndarray:
    """Each prompt's cluster (0..G-1); every prompt its own cluster when they are independent."""
    size = setting.cluster_size or 1
    return np.arange(setting.prompts) // size


def evaluate(setting: Setting, reps: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """{"false_lead_rate": share of sweeps whose pick gets "high" (equal adapters only, else None; the floor
    test: share of points at the floor shown above it), "coverage": share of 95 % intervals that hold the
    truth, "detected": share of intervals above 0 where the truth is positive, "pooled": share of sweeps whose
    seed variance was pooled (None: pooling off or impossible), "reps"}."""
    rng = np.random.default_rng(seed)
    x, truth = simulate(setting, reps, rng, return_truth=True)
    scale = SCALES[setting.scores]
    clusters = cluster_ids(setting) if setting.cluster_size else None
    floor = setting.test == "floor"
    pool = seed_pool(x, setting)
    b = x[:, 1, :1] if floor else x[:, 1]
    first = stats.compare_arrays(x[:, 0], b, KEEP if floor else 1.0, level, scale, clusters,
                                 (pool, None if floor else pool))
    coverage = float(np.mean((first["lo"] <= truth) & (truth <= first["hi"])))
    false_lead = detected = None
    if setting.truth == 0:
        if floor:  # shown above the floor while the (these adapters': one seed) truth is not above it
            false_lead = float(np.mean((first["p"] < 1 - level) & (first["value"] > 0) & (truth <= 0)))
        else:
            false_lead = float(np.mean(high_confidence(x, level, scale, clusters, pool)))
    elif setting.truth > 0:  # power: the interval excludes 0 on the right side
        detected = float(np.mean(first["lo"] > 0))
    pooled = None if pool is None else float(np.mean(pool.used))
    return {"false_lead_rate": false_lead, "coverage": coverage, "detected": detected, "pooled": pooled,
            "reps": reps}


def seed_pool(x: np.ndarray, setting: Setting):
    """The report's SeedPool over the simulated sweep's trained adapters (the floor test's base model has no
    seeds and stays out), or None with pooling off."""
    if not setting.pool:
        return None
    members = [j for j in range(x.shape[1]) if not (setting.test == "floor" and j == 1)]
    return stats.pool_seeds([x[:, j] for j in members])


def high_confidence(x: np.ndarray, level: float = 0.95, scale=None, clusters=None, pool=None) -> np.ndarray:
    """Per simulated sweep: does the best adapter (highest mean) lead every other one after Holm?

    The same rule as report.summary's recommendation: pairwise comparisons of the pick with each
    other point, Holm-adjusted p below 1 - level for all of them, and 2 or more seeds per point
    (with one, the report never says "high"); pool: the sweep's SeedPool, as the report passes it."""
    r, k, s = x.shape[:3]
    if s < 2:
        return np.zeros(r, dtype=bool)
    best = x.mean((-2, -1)).argmax(1)
    picked = x[np.arange(r), best]
    pvals = []
    for j in range(k):
        other = stats.compare_arrays(picked, x[:, j], 1.0, level, scale, clusters, (pool, pool))["p"]
        pvals.append(np.where(best == j, np.nan, other))
    p = np.stack(pvals, -1)
    # the pick's own column is not a comparison: sort it last (p = 1) and size the family k - 1
    p = np.sort(np.where(np.isnan(p), 1.0, p), -1)[..., : k - 1]
    return np.all(stats.holm(p) < 1 - level, -1)


def grid() -> list[Setting]:
    """The settings of the calibration table: the core (truths 0 / 0.05, with and without a seed effect,
    0/1, Beta and 0-10 scores, 33 / 100 / 174 prompts, 1 / 2 / 3 / 5 seeds), then what users also run:
    clustered prompts, unequal seed variances, near-ceiling means and S1's floor test."""
    out = []
    for truth in (0.0, 0.05):
        for seed_effect in (False, True):
            for scores in ("binary", "beta", "0-10"):
                for n in (33, 100, 174):
                    for s in (1, 2, 3, 5):
                        out.append(Setting(truth, seed_effect, scores, n, s))
    for scores in ("binary", "beta"):
        for n, size in ((100, 10), (174, 6)):
            for s in (1, 2, 3, 5):
                out.append(Setting(0.0, True, scores, n, s, cluster_size=size))
    for truth in (0.0, 0.05):
        for scores in ("binary", "beta", "0-10"):
            for s in (2, 3, 5):
                out.append(Setting(truth, True, scores, 100, s, unequal_seeds=True))
    for truth in (0.0, 0.03):
        for scores in ("binary", "beta", "0-10"):
            for s in (1, 2, 3, 5):
                out.append(Setting(truth, True, scores, 100, s, ceiling=True))
    for truth in (0.0, 0.03):
        for scores in ("binary", "beta", "0-10"):
            for s in (1, 2, 3, 5):
                out.append(Setting(truth, True, scores, 100, s, test="floor"))
    # sweeps of several points (the quickstart: 4 ratios), the seed variance pooled over them; with unequal seed
    # variances Bartlett's check must send the comparisons back to each point's own seeds
    for truth in (0.0, 0.05):
        for seed_effect, unequal in ((False, False), (True, False), (True, True)):
            for scores in ("binary", "beta", "0-10"):
                for s in (2, 3, 5):
                    out.append(Setting(truth, seed_effect, scores, 100, s, adapters=4, unequal_seeds=unequal))
    # the same 4-adapter sweeps at 2 seeds with each point's own 1-df seed term (before pooling): what pooling buys
    for truth in (0.0, 0.05):
        for seed_effect in (False, True):
            for scores in ("binary", "beta", "0-10"):
                out.append(Setting(truth, seed_effect, scores, 100, 2, adapters=4, pool=False))
    return out
