"""The decide loop on simulated sweeps with a known truth: does "high" stay honest when seeds are added
where the picks are open and the data are looked at again?

A simulated sweep has `adapters` points and a base model (meta/calibration_sim.simulate: paired prompts, a
training-seed effect, 0/1, Beta or 0-10 scores). In-domain, the adapters are equal (truth 0) or adapter 0
leads by `truth`; on general every adapter truly equals the base model, so each is truly above S1's floor
(keep x base, keep < 1). Each point has `planned` seeds; every look builds the report's Points from the seeds
revealed so far and asks the shipped code: summary.recommend at the spent level (ALPHA / looks), then
decide_plan.plan_round for the seeds to add (one more seed column revealed per planned point), until both
picks are "high", nothing is planned, or the budget or the rounds are spent.

A false lead is a "high" (S1 or S2, at any look) on a point that is not the true best in-domain: with equal
adapters every "high" is one. Goal: at most ALPHA over the whole loop.
"""

from dataclasses import dataclass

import numpy as np

from iftkit.meta.calibration_sim import KEEP, SCALES, Setting, simulate
from iftkit.report.points import ALPHA, BASE, Point, _pool_seeds
from iftkit.report.summary import recommend
from iftkit.sweep.decide_plan import is_high, plan_round, settled


@dataclass
class DecideSetting:
    truth: float  # adapter 0's in-domain lead (0: equal adapters)
    scores: str  # "binary" | "beta" | "0-10"
    prompts: int = 100
    planned: int = 2  # seeds per point before decide
    adapters: int = 4
    max_cells: int = 4
    max_rounds: int = 2
    # S1's floor (keep x base): 0.8 leaves room above it for the in-domain decision; at KEEP (0.95) every
    # point is near the floor and S1 stays open (the planner then seeds the undetermined points)
    keep: float = 0.8

    def label(self) -> str:
        return (f"decide loop: truth={self.truth:.2f} {self.scores:<6} n={self.prompts:<3} seeds={self.planned} "
                f"adapters={self.adapters} keep={self.keep:g} budget={self.max_cells} cells / {self.max_rounds} rounds")


def _point(x, in_scores, gen_scores, scale) -> Point:
    p = Point(x, "", float(in_scores.mean()), float(gen_scores.mean()), seeds=in_scores.shape[0],
              cells=[f"{x}-seed={i}" for i in range(in_scores.shape[0])],
              scores={"in_domain": in_scores, "general": gen_scores}, in_scale=scale, gen_scale=scale)
    return p


def sweep_points(x_in, x_gen, seeds: list[int], scale) -> list[Point]:
    """The base model and each adapter with its first seeds[j] seeds revealed, seed variance pooled as the
    report pools it. x_in, x_gen: (adapters (+1 base on general), seeds, prompts) of one simulated sweep."""
    k = len(seeds)
    base = _point(BASE, x_gen[k, :1], x_gen[k, :1], scale)
    pts = [base] + [_point(j, x_in[j, :s], x_gen[j, :s], scale) for j, s in enumerate(seeds)]
    for axis in ("in_domain", "general"):
        _pool_seeds(pts, axis)
    return pts


def run_loop(x_in, x_gen, st: DecideSetting) -> dict:
    """One simulated sweep through the decide loop: {"false_lead", "decided", "added", "looks"}."""
    scale, looks = SCALES[st.scores], st.max_rounds + 1
    seeds, added, false_lead = [st.planned] * st.adapters, 0, False
    leader = 0 if st.truth > 0 else None
    for look in range(looks):
        pts = sweep_points(x_in, x_gen, seeds, scale)
        recs = recommend(pts, st.keep, None, ALPHA / looks)
        false_lead |= any(is_high(r) and r.point is not None and r.point.x != leader for r in recs)
        decided = all(settled(r, pts) for r in recs)
        if decided or look == st.max_rounds:
            break
        plan = plan_round(recs, pts, st.max_cells - added)
        if not plan.cells:
            break
        for p, _ in plan.seeds:
            seeds[p.x] += 1
            added += 1
    return {"false_lead": false_lead, "decided": decided, "added": added, "looks": look + 1}


def evaluate_loop(st: DecideSetting, reps: int = 300, seed: int = 0) -> dict:
    """Over `reps` simulated sweeps: {"false_lead_rate", "decided" (share whose picks are both settled at the
    end: "high", or nothing left to change them), "mean_added", "max_added", "reps"}."""
    rng = np.random.default_rng(seed)
    most = st.planned + st.max_cells  # no point can get more seeds than this
    x_in = simulate(Setting(st.truth, True, st.scores, st.prompts, most, adapters=st.adapters), reps, rng)
    # general without a seed effect: with one the floor tests rarely decide at these seed counts, and S1 would
    # stay open in every sweep (the keep=KEEP settings show that case)
    x_gen = simulate(Setting(0.0, False, st.scores, st.prompts, most, adapters=st.adapters + 1), reps, rng)
    got = [run_loop(x_in[r], x_gen[r], st) for r in range(reps)]
    return {"false_lead_rate": float(np.mean([g["false_lead"] for g in got])),
            "decided": float(np.mean([g["decided"] for g in got])),
            "mean_added": float(np.mean([g["added"] for g in got])),
            "max_added": max(g["added"] for g in got), "reps": reps}


def decide_grid() -> list[DecideSetting]:
    """What users run decide on: 4 points, 1 or 2 planned seeds, 0/1 and continuous scores, equal adapters
    and one true leader (by 0.2: decidable within the budget), then the quickstart's near-floor case."""
    out = [DecideSetting(truth, scores, 100, planned)
           for truth in (0.0, 0.2) for scores in ("binary", "beta") for planned in (1, 2)]
    out += [DecideSetting(0.2, scores, 100, 2, max_cells=8) for scores in ("binary", "beta")]
    return out + [DecideSetting(0.0, scores, 100, 2, keep=KEEP) for scores in ("binary", "beta")]
