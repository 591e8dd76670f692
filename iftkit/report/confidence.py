"""The confidence words of a recommendation: how well the evidence separates the pick from the other points,
which points it shows as good (equivalence), which it leaves undetermined on S1's floor and what would decide
them, and the sentence on the sweep's pooled seed variance. Family-wise at 95 %: Holm over the comparisons each
recommendation makes.
"""

import math
from typing import NamedTuple, Optional

import numpy as np
from scipy import stats as sps

from iftkit.core.stats import Estimate, SeedPool, _seed_parts, holm, prompts_to_decide
from iftkit.report.points import ALPHA, Point, diff, oriented

SPREAD_EPS = 1e-9  # a seed spread below this share of the scores is rounding, not a measurement


def _margin(best: Point, margin: Optional[float]) -> Optional[float]:
    return margin if margin is not None else best.in_scale.default_margin()


def _equivalent(best: Point, others: list[Point], margin: Optional[float], alpha: float = ALPHA) -> list[Point]:
    """The points shown within +-margin of `best` in-domain (TOST at 95 %, Holm over `others`)."""
    m = _margin(best, margin)
    if m is None or not others:
        return []
    tests = [(p, e.equivalence_p(m)) for p in others if (e := diff(best, p, "in_domain")) is not None]
    tests = [(p, q) for p, q in tests if q is not None]
    if not tests:
        return []
    return [p for (p, _), a in zip(tests, holm([q for _, q in tests])) if a < alpha]


def _holm_over(tests: int) -> str:
    return f" (Holm-corrected over the {tests} points tested)" if tests > 1 else ""


def _undetermined(cells: list[Point], pick: Optional[Point], tests: int, alpha: float = ALPHA) -> list[str]:
    """S1's undetermined points that would beat the pick in-domain, and what would decide each."""
    notes = []
    for p in sorted(cells, key=lambda p: -oriented(p)):
        m = p.general_margin
        if p.keeps_general is not None or m is None or m.ci_low is None:
            continue
        if pick is not None and oriented(p) <= oriented(pick):
            continue
        need = prompts_to_decide(m, tests, level=1 - alpha)
        if need is None:
            decide = ("its seeds disagree more than its margin: more seeds, not more prompts, would decide it"
                      if m.var_seed > 0 else "its estimate sits on the floor: no practical test size decides it")
        elif need > 1000 * m.n:
            decide = "its estimate sits almost on the floor: no practical test size decides it"
        else:
            decide = (f"about {need} held-out general prompts (now {m.n}) would decide it "
                      "(80 % power at its current estimate)")
        what = "would beat the pick in-domain" if pick is not None else "scores"
        # the interval printed is the point's own; the verdict is Holm-corrected over every point tested,
        # so an interval clear of 0 can still be undetermined: say so rather than look contradictory
        holm_note = f" before Holm's correction over {tests} points" if tests > 1 else ""
        notes.append(f"{p.tag} {what} ({p.in_domain:.3f}) but is undetermined on the general floor: margin "
                     f"{m.value:+.3f}, 95 % CI [{m.ci_low:+.3f}, {m.ci_high:+.3f}]{holm_note}; {decide}")
    return notes


class Lead(NamedTuple):
    """The pick's in-domain lead over the runner-up, paired, and how many comparisons Holm corrects over; its
    interval at `level`, the level its test ran at (below 95 % only where `sweep decide` looked more than once)."""

    runner: Point
    estimate: Estimate
    tests: int
    level: float = 1 - ALPHA


def ci_name(level: float) -> str:
    """'95 % CI', or the level a test ran at where that is higher (98.3 % CI after 3 looks)."""
    return f"{100 * level:.3g} % CI"


def _separation(best: Point, pool: list[Point], margin: Optional[float] = None,
                alpha: float = ALPHA) -> tuple[list, str, list, Optional[Lead]]:
    """Which points the evidence cannot tell apart from `best` on in-domain, said in words, which of
    those it shows as good (within +-margin, TOST), and its lead over the runner-up. "high" only when it leads
    every other point, Holm-corrected over those comparisons, with at least 2 seeds per point: one seed measures
    these two adapters on these prompts, not what retraining would give."""
    others = [p for p in pool if p is not best]
    if not others:
        return [], "only one candidate", [], None
    runner = max(others, key=oriented)
    # the lead's interval at the level its test runs at, so an interval clear of 0 and "low" never meet over
    # one comparison (after 3 decide looks a 95 % interval did: the test ran at 98.3 %)
    d = diff(best, runner, "in_domain", level=1 - alpha)
    if d is None or d.ci_low is None:
        return (*_seed_spread(best, others, alpha), [], None)
    tied, why, same = _separated(best, others, runner, d, (margin, alpha))
    return tied, why, same, Lead(runner, d, len(others), 1 - alpha)


def _separated(best: Point, others: list[Point], runner: Point, d: Estimate, levels: tuple) -> tuple[list, str, list]:
    """_separation's words where per-prompt scores give the lead d over the runner-up; levels: (margin, alpha)."""
    margin, alpha = levels
    sign = 1 if best.higher_is_better else -1  # a lead is a difference in the scorer's better direction
    comps = [(p, e) for p in others if (e := diff(best, p, "in_domain")) is not None and e.p_value is not None]
    adjusted = holm([e.p_value for _, e in comps])
    tied = [p for (p, e), a in zip(comps, adjusted) if a >= alpha or sign * e.value <= 0]
    family = f"Holm-corrected over {len(comps)} comparison{'s' if len(comps) != 1 else ''}"
    differ = f"; {d.differ_text()}" if d.differ_text() else ""
    lower = "" if best.higher_is_better else " (lower is better)"
    lead = (f"lead over the runner-up ({runner.tag}): {d.value:.3f}{lower}, {ci_name(1 - alpha)} [{d.ci_low:.3f}, "
            f"{d.ci_high:.3f}] over {d.n} paired prompts{differ}, seeds {d.seeds[0]} vs {d.seeds[1]}")
    one_seed = min(p.seeds for p in [best, *others]) < 2
    if not tied and one_seed:
        return [], (f"medium: these adapters differ in-domain on these prompts, {family} ({lead}), but with one "
                    "seed per point retraining variability was not measured: another training seed may rank them "
                    "otherwise; train 2 or more seeds per point to call the lead real"), []
    if not tied:
        return [], f"high: leads every other point in-domain, {family} ({lead}), so the lead is real", []
    names = ", ".join(p.tag for p in tied)
    why = f"low: the test set cannot separate it from {names} ({lead}"
    if (d.ci_low > 0) if sign > 0 else (d.ci_high < 0):
        why += f"; the CI excludes 0 but the lead does not hold {family}"
    why += ")"
    same, m = _equivalent(best, tied, margin, alpha), _margin(best, margin)
    if m is None:
        why += ("; no equivalence margin (the scale is unbounded and sweep.equivalence_margin is unset), so none "
                "is shown as good")
    elif len(same) == len(tied):
        why += (f"; any of them is as good on this evidence: each is shown within ±{m:.3g} of it (equivalence "
                f"test, TOST, Holm over {len(tied)})")
    elif same:
        why += (f"; {', '.join(p.tag for p in same)} shown within ±{m:.3g} of it (TOST); the others are neither "
                "separated from it nor shown as good")
    else:
        why += (f"; none is shown within ±{m:.3g} of it either (TOST), so neither a lead nor equivalence is "
                "established: more prompts or seeds would decide")
    if one_seed:
        why += "; one seed per point: retraining variability was not measured"
    elif min(d.seeds) <= 2 and d.seed_share > 0.5:
        why += (f". Most of that uncertainty is seed-to-seed ({d.seed_share:.0%}): {min(d.seeds)} seeds per point "
                "cannot support the claim; train 3 or more")
    return tied, why, same


def _seed_spread(best: Point, others: list[Point], alpha: float = ALPHA) -> tuple[list, str]:
    """Without per-prompt scores: Welch's t-test on the seed means, Holm over the others; never "high":
    the prompts' own sampling variability was not measured. Points whose seeds agree exactly borrow the
    spread pooled over every point; none measured at all decides nothing."""
    if best.seeds < 2:
        return [], "unknown: one seed per point and no per-prompt scores, so no uncertainty was measured"
    runner = max(others, key=oriented)
    spreads = [q.in_sd**2 for q in [best, *others] if q.seeds >= 2 and not math.isnan(q.in_sd)]
    pooled = math.sqrt(sum(spreads) / len(spreads)) if spreads else 0.0
    pvals = []
    for p in others:
        measured = max(best.in_sd, p.in_sd) > SPREAD_EPS * max(abs(best.in_domain), abs(p.in_domain), 1.0)
        sa, sb = (best.in_sd, p.in_sd) if measured else (pooled, pooled)
        if p.seeds < 2 or max(sa, sb) <= SPREAD_EPS * max(abs(best.in_domain), abs(p.in_domain), 1.0):
            pvals.append(1.0)  # no spread measured: no evidence either way
            continue
        t = sps.ttest_ind_from_stats(best.in_domain, sa, best.seeds, p.in_domain, sb, p.seeds, equal_var=False)
        pvals.append(float(t.pvalue))
    adjusted = holm(pvals)
    tied = [p for p, a in zip(others, adjusted) if a >= alpha or oriented(p) >= oriented(best)]
    lead = oriented(best) - oriented(runner)
    spread = math.sqrt(best.in_sd**2 + runner.in_sd**2)
    what = (f"leads the runner-up ({runner.tag}) by {lead:.3f} (seed spread {spread:.3f}; Welch's t on the seed "
            f"means, Holm-corrected over {len(others)} comparison{'s' if len(others) != 1 else ''}, no per-prompt "
            f"scores)")
    if tied:
        return tied, f"low: {what}, which does not separate it from {', '.join(p.tag for p in tied)}"
    if min([best.seeds] + [p.seeds for p in others]) < 3:
        return [], f"medium: {what}; 2 seeds per point are too few to call it high"
    return [], (f"medium: {what}; without per-prompt scores the test prompts' own sampling variability was not "
                "measured, so the lead is not called high")


def pool_words(pts: list[Point], label=None) -> list[str]:
    """The report's sentence on the seed-variance pool, once per axis that has one, and where the pool is used,
    the points whose own seeds vary more than it: their intervals rest on their own few seeds (_seed_term's
    guard, which the calibration needs where one point's seeds vary far more), so say why and what narrows them.
    label: a point's name in the report (default its tag)."""
    label = label or (lambda p: p.tag)
    out = []
    for axis, what in (("in_domain", "In-domain"), ("general", "General")):
        pool: Optional[SeedPool] = next((p.seed_pool.get(axis) for p in pts if p.seed_pool.get(axis)), None)
        if pool is None:
            continue
        # blank lines around each: a Markdown paragraph and list of its own, not run into the one before
        out += ["", f"{what}: {pool.words()}"]
        own = _own_spread_words(pts, axis, pool, label) if bool(pool.used) else []
        out += ["", *own] if own else []
    return out


def _own_spread_words(pts: list[Point], axis: str, pool: SeedPool, label) -> list[str]:
    out = []
    for p in pts:
        a = p.scores.get(axis)
        if p.seed_pool.get(axis) is not pool or a is None or not a.size:
            continue
        a = a[:, np.isfinite(a).all(0)]
        if float(_seed_parts(a)[0]) <= float(pool.rows):  # _seed_term's guard, for this point alone
            continue
        means = a.mean(-1)
        seeds = ", ".join(f"{m:.3f}" for m in means)
        out.append(f"- {label(p)}: its {len(means)} seeds ({seeds}) vary more than the pool's, so its interval rests "
                   f"on its own seeds ({len(means) - 1} degree{'s' * (len(means) > 2)} of freedom, not the pool's "
                   f"{pool.df}); another seed narrows it (`iftkit sweep decide` adds seeds where they could change "
                   f"a pick).")
    return out
