"""The power plan per axis: the smallest difference the sweep's prompts and seeds detect at 80 % power, and
what would reach sweep.power_target; before training from the base model's scores and a seed prior
(core/power.py), after it from the variances the report's own comparisons measured.

In-domain plans the comparison S2's lead rests on (an adapter against another, Holm over the other points);
general plans S1's floor test (an adapter against keep_general x the base model, Holm over the points).
"""

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from iftkit.core import power
from iftkit.core.stats import MIN_FOR_CI, ScoreScale, _seed_parts
from iftkit.report.points import oriented

TARGET_SHARE = 0.03  # sweep.power_target unset: this share of the declared scale's width (0.03 on [0, 1])
LABELS = {"in_domain": "in-domain", "general": "general"}


def target_for(scale: ScoreScale, target: Optional[float]) -> Optional[float]:
    return target if target is not None else (None if scale.width is None else TARGET_SHARE * scale.width)


@dataclass
class AxisPlan:
    """One axis's plan: what it compares, its design, the detectable difference and what reaches the target."""

    axis: str  # "in_domain" | "general"
    what: str  # "task_tolerant on in_domain"
    design: power.Design
    mde: Optional[float]
    target: Optional[float]
    prompts: Optional[int] = None  # prompts that reach the target at these seeds (None: none do)
    seeds: Optional[int] = None  # seeds per point that reach it at these prompts (None: none up to MAX_SEEDS)
    both: Optional[tuple] = None  # (prompts, seeds per point) where neither alone reaches it
    basis: str = ""  # where the variances come from, in words

    def reach(self) -> str:
        if self.mde is None:
            return "nothing to plan from"
        if self.target is None:
            return "no target (unbounded scale: set sweep.power_target)"
        if self.mde <= self.target:
            return f"target {self.target:.3g} reached"
        by_prompts = (f"about {self.prompts} prompts at {self.design.seeds[0]} seed(s)" if self.prompts
                      else "no number of prompts at these seeds")
        if self.design.seeds[0] < 2:
            return f"target {self.target:.3g}: {by_prompts} (1 seed per point: retraining variability not measured)"
        by_seeds = (f"{self.seeds} seeds per point at {self.design.n} prompts" if self.seeds
                    else "not reachable with seeds alone")
        if self.both:
            return f"target {self.target:.3g}: about {self.both[0]} prompts with {self.both[1]} seeds per point"
        return f"target {self.target:.3g}: {by_prompts}, or {by_seeds}"

    def line(self) -> str:
        what = "adapter vs adapter" if self.axis == "in_domain" else "adapter vs the S1 floor"
        mde = "n/a" if self.mde is None else ("nothing within the scale" if math.isinf(self.mde) else f"{self.mde:.3f}")
        return (f"{LABELS[self.axis]} ({self.what}, {self.design.n} prompts x {self.design.seeds[0]} seed(s), {what}, "
                f"Holm over {self.design.tests}): detects {mde} at 80 % power, two-sided 5 %; {self.reach()}. "
                f"{self.basis}")


def _finish(plan: AxisPlan, c: power.Components, scale: ScoreScale) -> AxisPlan:
    if plan.mde is not None and scale.width is not None and plan.mde > scale.width:
        plan.mde = math.inf  # past the largest difference the scale allows: nothing is detected
    if plan.target is not None and plan.mde is not None and plan.mde > plan.target:
        plan.prompts = power.prompts_needed(plan.target, c, plan.design)
        plan.seeds = power.seeds_needed(plan.target, c, plan.design) if plan.design.seeds[0] >= 2 else None
        if plan.prompts is None and plan.seeds is None and plan.design.seeds[0] >= 2:
            plan.both = _both_needed(plan.target, c, plan.design)
    return plan


def _both_needed(target: float, c: power.Components, d: power.Design) -> Optional[tuple]:
    """(prompts, seeds per point) that reach the target with the fewest answers to score (prompts x seeds, the
    evaluation's work; each seed also trains), up to MAX_SEEDS."""
    best = None
    for s in range(d.seeds[0] + 1, power.MAX_SEEDS + 1):
        seeds = (s, s if d.seeds[1] >= 2 else d.seeds[1])
        n = power.prompts_needed(target, c, power.Design(d.n, seeds, d.points, d.tests))
        if n is not None and (best is None or n * s < best[0] * best[1]):
            best = (n, s)
    return best


def design(axis: str, n: int, seeds: int, points: int) -> power.Design:
    if axis == "in_domain":
        return power.Design(n, (seeds, seeds), points, max(points - 1, 1))
    return power.Design(n, (seeds, 1), points, max(points, 1))


def _seed_words(seeds: int, sd: float, prior: bool) -> str:
    if seeds < 2:
        return "1 seed per point: retraining variability is not measured, the plan counts prompts only."
    if prior:
        share = f"{power.RESID_SHARE * 100:.0f} %"
        return (f"seed sd {sd:.3f} per point (the calibration grid's seed effect) and {share} of each prompt's "
                "variance changing from seed to seed: priors, not measured yet.")
    return f"seed sd {sd:.3f} per point, measured."


def planned(axis: str, what: str, base: np.ndarray, scale: ScoreScale, grid: tuple[int, int],
            w: float, target: Optional[float]) -> AxisPlan:
    """Before training: from the base model's per-prompt scores on the axis (NaN: not scored, left out).
    grid: (seeds per point, points) of the sweep."""
    base = np.asarray(base, dtype=float).ravel()
    base = base[np.isfinite(base)]
    seeds = grid[0]
    d = design(axis, len(base), *grid)
    goal = target_for(scale, target)
    if not len(base):
        return AxisPlan(axis, what, d, None, goal, basis="No per-prompt scores on this axis (an lm-eval run without "
                                                         "per-document results): the report compares means only.")
    if len(base) < MIN_FOR_CI:
        return AxisPlan(axis, what, d, None, goal, basis=f"{len(base)} prompts: the report tests nothing below "
                                                         f"{MIN_FOR_CI}.")
    prompt, assumed = power.prompt_variance(base, scale, w)
    seed, resid = power.seed_prior(base, scale), power.resid_prior(base, scale)
    c = power.Components(prompt, seed, seed if axis == "in_domain" else 0.0, w, scale.kind == "binary", resid)
    basis = f"Assumed: {assumed}; {_seed_words(seeds, math.sqrt(seed), True)}"
    return _finish(AxisPlan(axis, what, d, power.detectable(c, d), goal, basis=basis), c, scale)


def measured(axis: str, what: str, a, b, points: int, w: float, target: Optional[float]) -> Optional[AxisPlan]:
    """After the sweep: the same plan from what this sweep measured on the comparison a - w b (two points.Points):
    the per-prompt variance of their difference, the seed variance (the sweep's pool where a is a pooled point, less
    the prompt-level noise) and the residual."""
    x, y = a.scores.get(axis), b.scores.get(axis)
    if x is None or y is None or not x.size or not y.size:
        return None
    keep = np.isfinite(x).all(0) & np.isfinite(y).all(0)
    x, y = x[:, keep], y[:, keep]
    n, seeds, scale = x.shape[1], x.shape[0], a.scale(axis)
    if n < MIN_FOR_CI:
        return None
    prompt = float((x.mean(0) - w * y.mean(0)).var(ddof=1))
    seed_a, resid = _seed_side(x, a.seed_pool.get(axis))
    # each side's own seeds: the leader at the ceiling (both seeds 1.000) has none, its runner-up may vary a lot
    seed_b, resid_b = _seed_side(y, b.seed_pool.get(axis)) if y.shape[0] >= 2 else (0.0, resid)
    c = power.Components(prompt, seed_a, seed_b, w, scale.kind == "binary", (resid + resid_b) / 2)
    d = design(axis, n, seeds, points)
    sd = math.sqrt((seed_a + seed_b) / 2 if y.shape[0] >= 2 else seed_a)
    basis = f"Measured: this sweep's comparison; {_seed_words(seeds, sd, False)}"
    return _finish(AxisPlan(axis, what, d, power.detectable(c, d), target_for(scale, target), basis=basis), c, scale)


def _seed_side(x: np.ndarray, pool) -> tuple[float, float]:
    """(variance of one seed's mean beyond the prompt-level noise, residual) of one side's seeds x prompts: the
    sweep's pool where this point is one of the pooled points, else its own seeds."""
    rows, resid, _ = _seed_parts(x)
    if pool is not None and bool(pool.used) and (rows > 0 or resid > 0):  # a pinned point is not in the pool
        rows, resid = pool.rows, pool.resid
    return max(float(rows) - float(resid) / x.shape[1], 0.0), float(resid)


def _first_row(a) -> np.ndarray:
    return np.zeros(0) if a is None or not np.size(a) else np.asarray(a, dtype=float)[0]


def verdict_lines(pts: list, recs: list, primary: str, general: tuple, keep_general: float,
                  target: Optional[float]) -> list[str]:
    """One line per axis beside the verdicts: the plan from the base model's scores (what the sweep printed
    before training) and the same plan from the variances this sweep measured. general: (suite, scorer)."""
    base = next((p for p in pts if p.is_base), None)
    finals = [p for p in pts if not p.is_base and not p.is_checkpoint and p.adapter_scale in (None, 1.0)]
    if base is None or not finals:
        return []
    points, seeds = len(finals), max(p.seeds for p in finals)
    w_gen = keep_general if base.gen_higher_is_better else 1 / keep_general
    by_in = sorted(finals, key=lambda p: -oriented(p))
    s1 = next((r.point for r in recs if r.scenario == "S1" and r.point is not None), None) or by_in[0]
    runner = by_in[1] if len(by_in) > 1 else None
    out = []
    for axis, what, scale, w, pair in (
        ("in_domain", f"{primary} on in_domain", base.in_scale, 1.0, (by_in[0], runner)),
        ("general", f"{general[1]} on {general[0]}", base.gen_scale, w_gen, (s1, base)),
    ):
        before = planned(axis, what, _first_row(base.scores.get(axis)), scale, (seeds, points), w, target)
        after = measured(axis, what, *pair, points, w, target) if pair[1] is not None else None
        out.append(_both(before, after))
    return out


def _both(before: AxisPlan, after: Optional[AxisPlan]) -> str:
    if after is None:
        return f"- Power, {before.line()}"
    mde = "n/a" if after.mde is None else ("nothing" if math.isinf(after.mde) else f"{after.mde:.3f}")
    return (f"- Power, {before.line()} Measured on this sweep: detects {mde}; {after.reach()}. "
            f"{after.basis.split('; ', 1)[-1]}")
