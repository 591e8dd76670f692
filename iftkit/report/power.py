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
from iftkit.core.stats import MIN_FOR_CI, Comparison, ScoreScale

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
    return plan


def design(axis: str, n: int, seeds: int, points: int) -> power.Design:
    if axis == "in_domain":
        return power.Design(n, (seeds, seeds), points, max(points - 1, 1))
    return power.Design(n, (seeds, 1), points, max(points, 1))


def _seed_words(seeds: int, sd: float, prior: bool) -> str:
    if seeds < 2:
        return "1 seed per point: retraining variability is not measured, the plan counts prompts only."
    if prior:
        return f"seed sd {sd:.3f} per point: a prior (the calibration grid's seed effect), not measured yet."
    return f"seed sd {sd:.3f} per point, measured."


def planned(axis: str, what: str, base: np.ndarray, scale: ScoreScale, seeds: int, points: int,
            w: float, target: Optional[float]) -> AxisPlan:
    """Before training: from the base model's per-prompt scores on the axis (NaN: not scored, left out)."""
    base = np.asarray(base, dtype=float).ravel()
    base = base[np.isfinite(base)]
    d = design(axis, len(base), seeds, points)
    goal = target_for(scale, target)
    if len(base) < MIN_FOR_CI:
        return AxisPlan(axis, what, d, None, goal, basis=f"{len(base)} prompts: the report tests nothing below "
                                                         f"{MIN_FOR_CI}.")
    prompt, assumed = power.prompt_variance(base, scale, w)
    seed = power.seed_prior(base, scale)
    c = power.Components(prompt, seed, seed if axis == "in_domain" else 0.0, w, scale.kind == "binary")
    basis = f"Assumed: {assumed}; {_seed_words(seeds, math.sqrt(seed), True)}"
    return _finish(AxisPlan(axis, what, d, power.detectable(c, d), goal, basis=basis), c, scale)


def measured(axis: str, what: str, comp: Optional[Comparison], scale: ScoreScale, points: int,
             w: float, target: Optional[float]) -> Optional[AxisPlan]:
    """After the sweep: the same plan from the variances the report's comparison measured."""
    if comp is None or comp.value is None or comp.ci_low is None or not comp.n:
        return None
    seeds = comp.seeds[0]
    d = design(axis, comp.n, seeds, points)
    sides = 2 if axis == "in_domain" else 1
    seed = comp.var_seed * seeds / sides if seeds >= 2 else 0.0  # per side, one seed's mean
    c = power.Components(comp.var_prompt * comp.n, seed, seed if sides == 2 else 0.0, w, scale.kind == "binary")
    basis = f"Measured: this sweep's comparison; {_seed_words(seeds, math.sqrt(seed), False)}"
    plan = AxisPlan(axis, what, d, power.detectable(c, d), target_for(scale, target), basis=basis)
    return _finish(plan, c, scale)


def _first_row(a) -> np.ndarray:
    return np.zeros(0) if a is None or not np.size(a) else np.asarray(a, dtype=float)[0]


def verdict_lines(pts: list, recs: list, primary: str, general: tuple, keep_general: float,
                  target: Optional[float]) -> list[str]:
    """One line per axis beside the verdicts: the plan from the base model's scores (what the sweep printed
    before training) and the same plan from the variances this sweep measured. general: (suite, scorer)."""
    from iftkit.report.summary import diff, oriented

    base = next((p for p in pts if p.is_base), None)
    finals = [p for p in pts if not p.is_base and not p.is_checkpoint and p.adapter_scale in (None, 1.0)]
    if base is None or not finals:
        return []
    points, seeds = len(finals), max(p.seeds for p in finals)
    w_gen = keep_general if base.gen_higher_is_better else 1 / keep_general
    by_in = sorted(finals, key=lambda p: -oriented(p))
    s1 = next((r.point for r in recs if r.scenario == "S1" and r.point is not None), None) or by_in[0]
    lead = diff(by_in[0], by_in[1], "in_domain") if len(by_in) > 1 else None
    out = []
    for axis, what, scale, w, comp in (
        ("in_domain", f"{primary} on in_domain", base.in_scale, 1.0, lead),
        ("general", f"{general[1]} on {general[0]}", base.gen_scale, w_gen, s1.general_margin),
    ):
        before = planned(axis, what, _first_row(base.scores.get(axis)), scale, seeds, points, w, target)
        after = measured(axis, what, comp, scale, points, w, target)
        out.append(_both(before, after))
    return out


def _both(before: AxisPlan, after: Optional[AxisPlan]) -> str:
    if after is None:
        return f"- Power, {before.line()}"
    mde = "n/a" if after.mde is None else ("nothing" if math.isinf(after.mde) else f"{after.mde:.3f}")
    return (f"- Power, {before.line()} Measured on this sweep: detects {mde}; {after.reach()}. "
            f"{after.basis.split('; ', 1)[-1]}")
