"""Which cells `iftkit sweep decide` adds next, from the report's own points and recommendations.

A pick is open while its confidence word is not "high". The points that could change an open pick get one
more training seed each: the pick itself, the points tied with it, for S1 the points undetermined on the
general floor that would beat the pick in-domain (or every undetermined point when S1 named none), and,
where one seed per point is what keeps a lead from "high", the other candidates still at one seed.
Checkpoints are left out (more seeds never make a checkpoint's lead "high"), and so is the base model.
A fitted curve may propose one intermediate grid value (`propose_ratio(points) -> (value, why) | None`,
report/curve.py); it is trained at the sweep's planned seeds, after the seeds, within the same budget.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

from iftkit.report.summary import Point, Recommendation, oriented


@dataclass
class Plan:
    seeds: list = field(default_factory=list)  # [(Point, why)]: one more training seed each, most decisive first
    ratio: Optional[tuple] = None  # (grid value, why): an intermediate value the curve proposes
    ratio_cells: int = 0  # cells the intermediate value costs (one per planned seed)

    @property
    def cells(self) -> int:
        return len(self.seeds) + (self.ratio_cells if self.ratio is not None else 0)


def is_high(rec: Recommendation) -> bool:
    return rec.confidence.startswith("high")


def settled(rec: Recommendation, pts: list[Point]) -> bool:
    """"high", or nothing another seed could change (one candidate and no undetermined rival, or every point
    shown below S1's floor)."""
    return is_high(rec) or not open_points(rec, pts)


def trainable(p: Point) -> bool:
    """A point another training seed adds to: a trained adapter (at any scale), not a checkpoint."""
    return not p.is_base and not p.is_checkpoint


def open_points(rec: Recommendation, pts: list[Point]) -> list[tuple]:
    """[(point, why)] of the points that could change this open pick, most decisive first."""
    if rec.confidence == "none":  # the scores cannot see the task (summary.refuse_unseeing): seeds would not help
        return []
    finals = [p for p in pts if trainable(p)]
    pick = rec.point
    out = []
    # a pick with no rival ("only one candidate") changes only through the undetermined points below
    if pick is not None and not rec.confidence.startswith("only one candidate"):
        out.append((pick, f"{rec.scenario} pick, {rec.confidence.split(':')[0]} confidence"))
        out += [(p, f"tied with the {rec.scenario} pick") for p in sorted(rec.tied, key=oriented, reverse=True)]
    if rec.scenario == "S1":
        beats = [p for p in finals if p.keeps_general is None and p.general_margin is not None
                 and (pick is None or oriented(p) > oriented(pick))]
        what = "would beat the S1 pick in-domain" if pick is not None else "S1 named no point"
        out += [(p, f"undetermined on the general floor; {what}") for p in sorted(beats, key=oriented, reverse=True)]
    if pick is not None and "one seed" in rec.confidence:
        pool = [p for p in finals if rec.scenario == "S2" or p.keeps_general]
        out += [(p, f"one seed keeps the {rec.scenario} lead from high")
                for p in sorted(pool, key=oriented, reverse=True) if p.seeds < 2]
    return [(p, why) for p, why in out if trainable(p)]


def plan_round(recs: list[Recommendation], pts: list[Point], budget: int,
               propose_ratio: Optional[Callable] = None, ratio_cells: int = 1) -> Plan:
    """The cells of the next round, within `budget`: nothing once every pick is settled. Points are keyed by
    their grid value and series (a scaled adapter's extra seed is its grid value's); ratio_cells: what an
    intermediate value costs (0 = none may be added: one was already)."""
    if budget <= 0 or all(settled(r, pts) for r in recs):
        return Plan()
    wanted: dict = {}
    for rec in recs:
        if not is_high(rec):
            for p, why in open_points(rec, pts):
                wanted.setdefault((p.x, p.series), (p, why))
    plan = Plan(seeds=list(wanted.values())[:budget])
    left = budget - len(plan.seeds)
    if propose_ratio is not None and ratio_cells and left >= ratio_cells:
        got = propose_ratio(pts)
        if got is not None:
            plan.ratio, plan.ratio_cells = (got[0], got[1]), ratio_cells
    return plan
