"""From a sweep's result rows to tradeoff points: one per grid value, with per-prompt scores and intervals.

A point is one grid value (seeds pooled) at one adapter scale (see report/scales.py): its
in-domain score (target suite) and general score (general suite), each as mean and spread across
seeds, for one scorer. "Best" follows the scorer's direction (the results rows' higher_is_better),
and so does the general floor. Every adapter answered the same prompts as the base model, so
differences are paired: intervals count the prompts (paired) and each point's training seeds
(stats.paired_difference). The seed-to-seed variance is pooled over the sweep's points where their
seeds vary alike (_pool_seeds, stats.pool_seeds). The rules that pick a point are in summary.py.
"""

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from iftkit.core.stats import Estimate, ScoreScale, mean_interval, paired_difference, pool_seeds
from iftkit.evaluation.degenerate import count_degenerate
from iftkit.evaluation.forgetting import FORGETTING

ALL_TASKS = "__all__"
BASE = "base"
ALPHA = 0.05  # family-wise error rate of every confidence word


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
    # per-prompt scores, suite -> seeds x prompts (NaN = not scored), aligned across points
    scores: dict = field(default_factory=dict)
    in_ci: Optional[Estimate] = None  # mean with a 95 % CI over prompts (and seeds)
    gen_ci: Optional[Estimate] = None
    identical: Optional[tuple] = None  # (outputs identical to the base model's, outputs compared)
    # S1: True = general score shown above the floor, False = shown below, None = undetermined
    # (95 % confidence, Holm over the points); from point estimates when no per-prompt scores
    keeps_general: Optional[bool] = None
    general_margin: Optional[Estimate] = None  # general - keep_general x base general, paired
    adapter_scale: Optional[float] = None  # the adapter's LoRA deltas times this (1 = as trained; None: base)
    # in-domain answers the generation length limit cut, seeds pooled: (cut, answers, limit); None = not recorded
    truncated: Optional[tuple] = None
    degenerate: Optional[tuple] = None  # (answers empty or one repeated piece, answers): evaluation/degenerate.py
    # training step of the adapter scored, and the run's last (sweep.checkpoints; None: not tracked)
    step: Optional[int] = None
    final_step: Optional[int] = None
    # direction of the in-domain and the general scorer (their results rows' higher_is_better)
    higher_is_better: bool = True
    gen_higher_is_better: bool = True
    # what the in-domain and the general scorer declare about one value (type and range): the intervals' method
    in_scale: ScoreScale = field(default_factory=ScoreScale)
    gen_scale: ScoreScale = field(default_factory=ScoreScale)
    # suite axis -> one cluster id per prompt (family, template or source), aligned with scores; None: independent
    clusters: dict = field(default_factory=dict)
    # suite axis -> the sweep's pooled training-seed variance where this point is one of the pooled points
    seed_pool: dict = field(default_factory=dict)

    def scale(self, axis: str) -> ScoreScale:
        return self.in_scale if axis == "in_domain" else self.gen_scale

    @property
    def is_base(self) -> bool:
        return self.x == BASE

    @property
    def key(self) -> tuple:
        return self.x, self.series, self.adapter_scale, self.step

    @property
    def is_checkpoint(self) -> bool:
        """An adapter as it was before the end of its training (sweep.checkpoints)."""
        return self.step is not None and self.final_step is not None and self.step < self.final_step

    @property
    def tag(self) -> str:
        """The point in words: its grid value, its adapter scale when not as trained, its series."""
        scale = f" at adapter_scale={self.adapter_scale:g}" if self.adapter_scale not in (None, 1.0) else ""
        scale += f" at step {self.step}/{self.final_step}" if self.is_checkpoint else ""
        return f"{self.x}{scale}" + (f" ({self.series})" if self.series else "")


def oriented(p: Point, axis: str = "in_domain") -> float:
    """The point's score on `axis`, signed so that larger is better whatever its scorer's direction."""
    if axis == "in_domain":
        return p.in_domain if p.higher_is_better else -p.in_domain
    return p.general if p.gen_higher_is_better else -p.general


def direction(higher_is_better: bool) -> str:
    return "higher is better" if higher_is_better else "lower is better"


def is_higher_better(rows: list[dict], scorer: str) -> bool:
    """The direction the results rows give `scorer` (higher unless a row says otherwise)."""
    return all(r.get("higher_is_better") is not False for r in rows if r.get("scorer") == scorer)


def general_floor(base: Point, keep_general: float) -> float:
    """S1's general floor: keep_general of the base model's general score, or, when lower is better
    on the general axis, the base score divided by keep_general (a 90 % rule allows 111 % of it)."""
    return keep_general * base.general if base.gen_higher_is_better else base.general / keep_general


def floor_label(base: Point, keep_general: float) -> str:
    """The S1 floor in words, for the charts' legends."""
    share = keep_general if base.gen_higher_is_better else 1 / keep_general
    return f"S1 floor: {share:.0%} of base general"


def _mean_sd(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, sd


def suite_rows(rows: list[dict], suite: str, scorer: str) -> dict:
    """{cell label: suite-level row} of one suite and scorer."""
    return {
        r["cell"]: r
        for r in rows
        if r.get("suite") == suite
        and r.get("scorer") == scorer
        and r.get("task") == ALL_TASKS
        and r.get("mean") is not None
    }


def points(
    rows: list[dict],
    scorer: str,
    x_key: str,
    in_suite="in_domain",
    gen_suite="general",
    gen_scorer: Optional[str] = None,
) -> list[Point]:
    """One point per grid value: in-domain = `scorer` on in_suite, general = gen_scorer (default
    `scorer`) on gen_suite. A one-seed point takes its row's CI (an lm-eval stderr, or the eval's
    bootstrap) until per-prompt scores replace it."""
    ins, gens = suite_rows(rows, in_suite, scorer), suite_rows(rows, gen_suite, gen_scorer or scorer)
    meta = {r["cell"]: r for r in rows}
    groups: dict = {}
    for cell in ins.keys() & gens.keys():
        m = meta[cell]
        if cell == BASE:
            key = (BASE, "", None, None)
        else:
            values = m.get("grid") or {}
            series = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(values.items()) if k != x_key)
            key = (values.get(x_key), series, m.get("adapter_scale") or 1.0, m.get("step"))  # before scales: 1
        groups.setdefault(key, []).append((cell, ins[cell], gens[cell]))
    pts = []
    for (x, series, scale, step), members in groups.items():
        members.sort(key=lambda m: str(m[0]))
        in_m, in_sd = _mean_sd([m[1]["mean"] for m in members])
        gen_m, gen_sd = _mean_sd([m[2]["mean"] for m in members])
        p = Point(x, series, in_m, gen_m, in_sd, gen_sd, len(members), [m[0] for m in members], adapter_scale=scale,
                  truncated=_truncated([m[1] for m in members]), step=step,
                  final_step=meta[members[0][0]].get("final_step"),
                  higher_is_better=members[0][1].get("higher_is_better") is not False,
                  gen_higher_is_better=members[0][2].get("higher_is_better") is not False,
                  in_scale=row_scale(members[0][1]), gen_scale=row_scale(members[0][2]))
        if len(members) == 1:
            p.in_ci, p.gen_ci = _row_ci(members[0][1]), _row_ci(members[0][2])
        pts.append(p)
    pts.sort(key=lambda p: (p.is_base is False, p.series, -(p.adapter_scale or 0), _sortable(p.x), p.step or 0))
    return pts


def row_scale(row: dict) -> ScoreScale:
    """What a results row's scorer declares: its "values" (binary / continuous) and "scale". Rows written
    before "values" existed read as continuous: never a method guessed from the data's range."""
    return ScoreScale.declared(row.get("values"), row.get("scale"))


def _truncated(rows: list[dict]) -> Optional[tuple]:
    known = [r for r in rows if r.get("n_truncated") is not None]
    if not known:
        return None
    limits = {r.get("max_new_tokens") for r in known} - {None}
    return (sum(r["n_truncated"] for r in known), sum(r.get("n_answers") or 0 for r in known),
            max(limits) if limits else None)


def _row_ci(row: dict) -> Optional[Estimate]:
    if row.get("ci_low") is None or row.get("ci_high") is None:
        return None
    return Estimate(row["mean"], row["ci_low"], row["ci_high"], int(row.get("n") or 0), note="from the results row")


def _sortable(x):
    return (0, x) if isinstance(x, (int, float)) else (1, str(x))


# --- paired statistics over the prompts every model answered -------------------------------


def attach_samples(
    pts: list[Point],
    samples: dict,
    scorer: str,
    suites=("in_domain", "general"),
    general: Optional[tuple] = None,
    clusters: Optional[dict] = None,
) -> None:
    """Give each point its per-prompt scores (seeds x prompts, aligned across points) and CIs.

    samples: {cell label: {(suite, sample_id): (prediction, scores)}}, the base model as "base".
    general: (suite, scorer) read for the "general" axis when it is not `scorer` on suite general.
    clusters: {(suite, sample_id): cluster id} for prompts that share a family, template or source
    (missing: the prompts of that suite count as independent); intervals are then cluster-robust.
    Where no prompt has a score (lm-eval rows of a harness run without per-document results),
    the point keeps its row's CI and the comparisons fall back to point estimates.
    """
    base_preds = samples.get(BASE, {})
    for axis in suites:
        suite, sc = general if (axis == "general" and general) else (axis, scorer)
        ids = sorted({k[1] for cell in samples.values() for k in cell if k[0] == suite})
        for p in pts:
            rows = [[_score(samples.get(c, {}).get((suite, i)), sc) for i in ids] for c in p.cells]
            p.scores[axis] = np.array(rows, dtype=float).reshape(len(p.cells), len(ids))
            if not np.isfinite(p.scores[axis]).any():
                p.scores[axis] = np.zeros((len(p.cells), 0))
            known = [clusters.get((suite, i)) for i in ids] if clusters else []
            p.clusters[axis] = (np.array([str(c) for c in known], dtype=object)
                                if known and all(c is not None for c in known) and p.scores[axis].size else None)
        _pool_seeds(pts, axis)
    for p in pts:
        p.in_ci = mean_ci(p, "in_domain") or p.in_ci
        p.gen_ci = mean_ci(p, "general") or p.gen_ci
        # the forgetting suite generates nothing (its records' prediction is ""): no answers to count
        p.degenerate = count_degenerate(pred for c in p.cells for key, (pred, _) in samples.get(c, {}).items()
                                        if key[0] != FORGETTING)
        if not p.is_base and base_preds:
            same = total = 0
            for c in p.cells:
                for key, (pred, _) in samples.get(c, {}).items():
                    if key in base_preds and key[0] != FORGETTING:
                        total += 1
                        same += pred == base_preds[key][0]
            p.identical = (same, total)


def _pool_seeds(pts: list[Point], axis: str) -> None:
    """The one place the sweep's seed variance is pooled, per axis (one suite and scorer): over the points that
    are independent training runs with 2+ seeds (final adapters as trained, and the base model where it has
    seeds; not checkpoints or rescalings, which share their adapter's seeds). Each member gets the SeedPool;
    stats.pool_seeds checks that their seeds vary alike and the comparisons fall back to per-point terms if not."""
    members, arrays = [], []
    for p in pts:
        a = p.scores.get(axis)
        if p.is_checkpoint or p.adapter_scale not in (None, 1.0) or a is None or a.shape[0] < 2:
            continue
        a = a[:, np.isfinite(a).all(0)]  # the prompts every seed of this point scored
        if a.shape[1]:
            members.append(p)
            arrays.append(a)
    pool = pool_seeds(arrays)
    ids = {id(p) for p in members}
    for p in pts:
        p.seed_pool[axis] = pool if id(p) in ids else None


def _score(entry, scorer):
    if entry is None:
        return math.nan
    v = entry[1].get(scorer)
    return math.nan if v is None else float(v)


def mean_ci(p: Point, suite: str) -> Optional[Estimate]:
    a = p.scores.get(suite)
    if a is None or not a.size:
        return None
    return mean_interval(a, scale=p.scale(suite), clusters=p.clusters.get(suite), pool=p.seed_pool.get(suite))


def diff(p: Point, q: Point, suite: str, q_weight: float = 1.0, level: float = 1 - ALPHA) -> Optional[Estimate]:
    """p minus q_weight x q on the prompts both answered, each side's seeds counted (swap-invariant; from the
    sweep's pooled seed variance where both are pooled points); its interval at `level`."""
    a, b = p.scores.get(suite), q.scores.get(suite)
    if a is None or b is None or not a.size or not b.size:
        return None
    return paired_difference(a, b, b_weight=q_weight, level=level, scale=p.scale(suite), clusters=p.clusters.get(suite),
                             pools=(p.seed_pool.get(suite), q.seed_pool.get(suite)))


def error_bars(group: list[Point], suite: str) -> list:
    """Asymmetric error bars: the CI where measured, else the seed spread."""
    lo, hi = [], []
    for p in group:
        mean, est, sd = (p.in_domain, p.in_ci, p.in_sd) if suite == "in_domain" else (p.general, p.gen_ci, p.gen_sd)
        if est is not None and est.ci_low is not None:
            lo.append(max(0.0, mean - est.ci_low))
            hi.append(max(0.0, est.ci_high - mean))
        else:
            lo.append(sd)
            hi.append(sd)
    return [lo, hi]
