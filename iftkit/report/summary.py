"""From a sweep's result rows to tradeoff points and a recommended ratio.

A point is one grid value (seeds pooled): its in-domain score (target suite) and general
score (general suite), each as mean and spread across seeds, for one scorer. S1 picks the
best in-domain point that keeps at least `keep_general` of the base model's general score;
S2 picks the best in-domain point outright. Confidence says whether the winner's lead is
larger than the seed spread.
"""

import math
from dataclasses import dataclass, field
from typing import Optional

ALL_TASKS = "__all__"
BASE = "base"


@dataclass
class Point:
    x: object  # grid value (ratio or n), or "base"
    series: str  # other grid values, "" when the grid has one key
    in_domain: float
    general: float
    in_sd: float = 0.0
    gen_sd: float = 0.0
    seeds: int = 1
    cells: list = field(default_factory=list)

    @property
    def is_base(self) -> bool:
        return self.x == BASE


def _mean_sd(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, sd


def suite_means(rows: list[dict], scorer: str) -> dict:
    """{cell label: {suite: mean}} from the suite-level (task == __all__) rows of one scorer."""
    out: dict = {}
    for r in rows:
        if r.get("scorer") == scorer and r.get("task") == ALL_TASKS and r.get("mean") is not None:
            out.setdefault(r["cell"], {})[r["suite"]] = r["mean"]
    return out


# when the sweep's primary scorer has no in-domain scores (a free-text user task has no task
# checker), the first of these that scored both suites carries the report
FALLBACK_SCORERS = ("judge", "embedding", "chrf", "rougeL", "rouge1", "bleu", "exact_match")


def suite_coverage(rows: list[dict], scorer: str) -> set:
    """Suites in which `scorer` has a suite-level mean for at least one trained cell."""
    return {r["suite"] for r in rows if r.get("scorer") == scorer and r.get("task") == ALL_TASKS
            and r.get("mean") is not None and r.get("cell") != BASE}


def choose_primary(rows: list[dict], requested: str, in_suite="in_domain", gen_suite="general",
                   target_kind: Optional[str] = None) -> tuple[Optional[str], str]:
    """(scorer that drives the report, why it is that one), naming a missing requested scorer."""
    both = {in_suite, gen_suite}
    if both <= suite_coverage(rows, requested):
        return requested, f"`{requested}`, from sweep.primary_scorer"
    if target_kind == "free_text":
        why = f"`{requested}` has no in-domain scores: the target is a free-text task, which has no task checker"
    elif requested.startswith("task_"):
        why = f"`{requested}` has no in-domain scores (the target task has no checker, or eval.scorers left it out)"
    else:
        why = f"`{requested}` has no in-domain and general scores (is it in eval.scorers?)"
    for s in FALLBACK_SCORERS:
        if both <= suite_coverage(rows, s):
            return s, f"{why}; the primary scorer is the reference-based `{s}` instead"
    return None, f"{why}, and no reference-based scorer ({', '.join(FALLBACK_SCORERS)}) scored both suites"


def points(rows: list[dict], scorer: str, x_key: str, in_suite="in_domain", gen_suite="general") -> list[Point]:
    means = suite_means(rows, scorer)
    meta = {r["cell"]: r for r in rows}
    groups: dict = {}
    for cell, suites in means.items():
        if in_suite not in suites or gen_suite not in suites:
            continue
        m = meta[cell]
        if cell == BASE:
            key = (BASE, "")
        else:
            values = m.get("grid") or {}
            series = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(values.items()) if k != x_key)
            key = (values.get(x_key), series)
        groups.setdefault(key, []).append((cell, suites[in_suite], suites[gen_suite]))
    pts = []
    for (x, series), members in groups.items():
        in_m, in_sd = _mean_sd([m[1] for m in members])
        gen_m, gen_sd = _mean_sd([m[2] for m in members])
        pts.append(Point(x, series, in_m, gen_m, in_sd, gen_sd, len(members), [m[0] for m in members]))
    pts.sort(key=lambda p: (p.is_base is False, p.series, _sortable(p.x)))
    return pts


def _sortable(x):
    return (0, x) if isinstance(x, (int, float)) else (1, str(x))


def pareto_front(pts: list[Point]) -> list[Point]:
    """Points no other point beats on both in-domain and general (higher is better)."""
    front = [p for p in pts if not any(q.in_domain >= p.in_domain and q.general >= p.general and (q.in_domain > p.in_domain or q.general > p.general) for q in pts)]
    return sorted(front, key=lambda p: p.general)


@dataclass
class Recommendation:
    scenario: str
    point: Optional[Point]
    reason: str
    confidence: str


def recommend(pts: list[Point], keep_general: float) -> list[Recommendation]:
    base = next((p for p in pts if p.is_base), None)
    cells = [p for p in pts if not p.is_base]
    recs = []
    if not cells:
        return [Recommendation("S1", None, "no trained cells yet", "none"), Recommendation("S2", None, "no trained cells yet", "none")]
    if base is not None and not math.isnan(base.general):
        floor = keep_general * base.general
        eligible = [p for p in cells if p.general >= floor]
        why = f"best in-domain among points keeping >= {keep_general:.0%} of the base model's general score ({floor:.3f})"
    else:
        eligible, why = cells, "best in-domain (no base model general score to compare against)"
    if eligible:
        best = max(eligible, key=lambda p: p.in_domain)
        recs.append(Recommendation("S1", best, why, _confidence(best, eligible)))
    else:
        recs.append(Recommendation("S1", None, f"no point keeps >= {keep_general:.0%} of the base general score; use the base model or a smaller ratio", "n/a"))
    best2 = max(cells, key=lambda p: p.in_domain)
    recs.append(Recommendation("S2", best2, "best in-domain score, general ability ignored", _confidence(best2, cells)))
    return recs


def _confidence(best: Point, pool: list[Point]) -> str:
    others = [p for p in pool if p is not best]
    if best.seeds < 2:
        return "unknown: one seed per point, so no spread was measured (add seeds to the sweep)"
    if not others:
        return "only one candidate"
    runner = max(others, key=lambda p: p.in_domain)
    lead = best.in_domain - runner.in_domain
    spread = math.sqrt(best.in_sd ** 2 + runner.in_sd ** 2)
    if lead > 2 * spread:
        return f"high: leads the runner-up ({runner.x}) by {lead:.3f}, more than twice the seed spread ({spread:.3f})"
    if lead > spread:
        return f"medium: leads the runner-up ({runner.x}) by {lead:.3f}, above the seed spread ({spread:.3f})"
    return f"low: the runner-up ({runner.x}) is within the seed spread ({lead:.3f} vs {spread:.3f})"
