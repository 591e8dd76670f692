"""From tradeoff points to the recommendations: S1 picks the best in-domain point that keeps at least
`keep_general` of the base model's general score; S2 picks the best in-domain point outright. Confidence words
hold family-wise (Holm over the comparisons a recommendation makes; report/confidence.py words them), and the
report says when the evidence cannot separate two points. Points and their paired statistics: report/points.py.
"""

import math
from dataclasses import dataclass, field
from typing import Optional

from iftkit.core.stats import holm
from iftkit.report.confidence import Lead, _equivalent, _holm_over, _separation, _undetermined, ci_name
from iftkit.report.points import ALPHA, Point, diff, general_floor, oriented


@dataclass
class Recommendation:
    scenario: str
    point: Optional[Point]
    reason: str
    confidence: str
    tied: list = field(default_factory=list)  # points the evidence cannot separate from `point`
    # of those, the ones shown within +-margin of it (TOST): only these are "as good" / "would save"
    equivalent: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # S1: undetermined points that would beat the pick
    lead: Optional[Lead] = None  # the pick's in-domain lead over the runner-up, where per-prompt scores measure it


def recommend(pts: list[Point], keep_general: float, margin: Optional[float] = None,
              alpha: float = ALPHA) -> list[Recommendation]:
    """S1: the best in-domain point whose general score is shown above the general floor (95 %
    confidence, Holm over the points); undetermined points that would beat it are named with the
    test size that would decide them. S2: the best in-domain point and the points tied with it.
    Best is the highest score, or the lowest where the scorer says lower is better.

    Checkpoints (sweep.checkpoints) are a second stage: S1 and S2 are decided on the final adapters
    first; a checkpoint then takes a pick's place only where it is shown to lead it (Holm over the
    checkpoints), so turning checkpoints on never removes a pick the final adapters support.
    margin: the equivalence margin behind "as good" (score units; None: 2 % of the declared scale).
    Without per-prompt scores (a results table alone) the rules fall back to the point estimates.
    alpha: the family-wise error rate of every test; lower where the data are looked at more than once
    (sweep/decide.py spends ALPHA over its looks).
    """
    base = next((p for p in pts if p.is_base), None)
    cells = [p for p in pts if not p.is_base]
    if not cells:
        return [Recommendation(s, None, "no trained cells yet", "none") for s in ("S1", "S2")]
    finals = [p for p in cells if not p.is_checkpoint]
    checkpoints = [p for p in cells if p.is_checkpoint] if finals else []
    recs = _recommend(base, finals or cells, keep_general, margin, alpha)
    if checkpoints:
        if base is not None and not math.isnan(base.general):
            _floor_tests(checkpoints, base, keep_general, alpha)
        recs = [_checkpoint_stage(r, checkpoints, margin, alpha) for r in recs]
    return recs


def _floor_tests(cells: list[Point], base: Point, keep_general: float, alpha: float = ALPHA) -> list[Point]:
    """Set each point's general margin over the S1 floor and keeps_general (Holm over `cells`); the points
    tested with per-prompt scores."""
    up = base.gen_higher_is_better
    floor = general_floor(base, keep_general)
    tested = []
    for p in cells:
        # the margin is the general score minus the floor, paired by prompt: above 0 keeps it when
        # higher is better, below 0 when lower is
        p.general_margin = diff(p, base, "general", keep_general if up else 1 / keep_general)
        if p.general_margin is not None and p.general_margin.p_value is not None:
            tested.append(p)
        else:
            p.keeps_general = p.general >= floor if up else p.general <= floor
    for p, adjusted in zip(tested, holm([p.general_margin.p_value for p in tested])):
        kept = p.general_margin.value > 0 if up else p.general_margin.value < 0
        p.keeps_general = kept if adjusted < alpha else None
    return tested


def _recommend(base: Optional[Point], cells: list[Point], keep_general: float,
               margin: Optional[float], alpha: float = ALPHA) -> list[Recommendation]:
    """S1 and S2 among `cells` (the final adapters)."""
    recs = []
    best_word = "highest" if cells[0].higher_is_better else "lowest"
    if base is not None and not math.isnan(base.general):
        floor, up = general_floor(base, keep_general), base.gen_higher_is_better
        stays = (f">= {keep_general:.0%} of the base model's ({floor:.3f})" if up else
                 f"<= {1 / keep_general:.0%} of the base model's ({floor:.3f}; lower is better)")
        why = f"{best_word} in-domain among points whose general score stays {stays}"
        tested = _floor_tests(cells, base, keep_general, alpha)
        eligible = [p for p in cells if p.keeps_general]
        if tested:
            side, other = ("above", "below") if up else ("below", "above")
            why += (f", shown {side} it with 95 % confidence (paired prompts and each point's seeds, Holm-corrected "
                    f"over the {len(tested)} points tested; the others are shown {other} it or undetermined)")
    else:
        eligible, why, tested = cells, f"{best_word} in-domain (no base model general score to compare against)", []
    best = max(eligible, key=oriented) if eligible else None
    notes = _undetermined(cells, best, len(tested), alpha)
    keeps = (f">= {keep_general:.0%} of" if base is None or base.gen_higher_is_better
             else f"<= {1 / keep_general:.0%} of")
    if best is not None:
        tied, conf, same, lead = _separation(best, eligible, margin, alpha)
        recs.append(Recommendation("S1", best, why, conf, tied, equivalent=same, notes=notes, lead=lead))
    else:
        recs.append(
            Recommendation(
                "S1",
                None,
                f"no point keeps {keeps} the base general score with "
                f"95 % confidence{_holm_over(len(tested))}; use the base model, a smaller ratio, or more test prompts",
                "n/a",
                notes=notes,
            )
        )
    best2 = max(cells, key=oriented)
    tied, conf, same, lead = _separation(best2, cells, margin, alpha)
    recs.append(Recommendation("S2", best2, f"{best_word} in-domain score, general ability ignored", conf, tied,
                               equivalent=same, lead=lead))
    return recs


def _checkpoint_stage(rec: Recommendation, checkpoints: list[Point], margin: Optional[float],
                      alpha: float = ALPHA) -> Recommendation:
    """The second stage: the checkpoints (S1: those shown above the floor, Holm over the checkpoints) against
    the final adapters' pick. One shown to lead it takes its place; the others join its tied / equivalent
    lists. Without a pick from the final adapters, the best eligible checkpoint is picked among the
    checkpoints alone."""
    pool = [c for c in checkpoints if rec.scenario == "S2" or c.keeps_general]
    if not pool:
        return rec
    if rec.point is None:
        if rec.scenario != "S1":
            return rec
        best = max(pool, key=oriented)
        tied, conf, same, lead = _separation(best, pool, margin, alpha)
        why = ("no final adapter qualified; among the checkpoints shown above the floor (Holm-corrected over the "
               f"{len(checkpoints)} checkpoints), the {'highest' if best.higher_is_better else 'lowest'} in-domain")
        return Recommendation(rec.scenario, best, why, conf, tied, equivalent=same, notes=rec.notes, lead=lead)
    pick, sign = rec.point, (1 if rec.point.higher_is_better else -1)
    comps = [(c, e) for c in pool
             if (e := diff(c, pick, "in_domain", level=1 - alpha)) is not None and e.p_value is not None]
    if not comps:  # no per-prompt scores: point estimates decide nothing here, the final pick stands
        return rec
    adjusted = holm([e.p_value for _, e in comps])
    leaders = [(c, e) for (c, e), a in zip(comps, adjusted) if a < alpha and sign * e.value > 0]
    family = f"Holm-corrected over {len(comps)} checkpoint{'s' if len(comps) != 1 else ''}"
    if leaders:
        c, e = max(leaders, key=lambda ce: oriented(ce[0]))
        conf = (f"medium: leads the final adapters' pick ({pick.tag}) in-domain by {e.value:.3f}, {ci_name(1 - alpha)} "
                f"[{e.ci_low:.3f}, {e.ci_high:.3f}], {family}; not compared with the other final adapters")
        return Recommendation(rec.scenario, c, rec.reason + f"; checkpoint stage: {c.tag} leads it", conf,
                              notes=rec.notes, lead=Lead(pick, e, len(comps), 1 - alpha))
    tied = [c for (c, e), a in zip(comps, adjusted) if a >= alpha]
    same = _equivalent(pick, tied, margin, alpha)
    return Recommendation(rec.scenario, pick, rec.reason, rec.confidence, rec.tied + tied,
                          equivalent=rec.equivalent + same, notes=rec.notes, lead=rec.lead)

MOSTLY_CUT = 0.5


def refuse_unseeing(recs: list[Recommendation], pts: list[Point], scorer: str) -> list[Recommendation]:
    """Recommendations that name no point where the scores cannot see the task: every trained point
    has the same in-domain score (all 0, or all tied), or the pick's answers were mostly cut by the
    generation length limit (its score measures the limit, not the adapter)."""
    cells = [p for p in pts if not p.is_base and not math.isnan(p.in_domain)]
    if len(cells) > 1 and max(p.in_domain for p in cells) - min(p.in_domain for p in cells) < 1e-9:
        why = (f"every trained point scores {cells[0].in_domain:.3f} in-domain on `{scorer}`: the scorer cannot "
               f"tell them apart on this task, so no point is named (check the answers in samples.jsonl, the "
               f"task kind, or score with another scorer)")
        return [Recommendation(r.scenario, None, why, "none") for r in recs]
    out = []
    for r in recs:
        cut = r.point.truncated if r.point is not None else None
        if cut and cut[1] and cut[0] > MOSTLY_CUT * cut[1]:
            why = (f"{r.point.tag} would be the pick, but {cut[0]} of {cut[1]} of its in-domain answers hit the "
                   f"{cut[2]}-token limit, so its score measures the limit, not the adapter; raise "
                   f"eval.in_domain_max_new_tokens and rerun (the sweep regenerates only the answers)")
            r = Recommendation(r.scenario, None, why, "none")
        out.append(r)
    return out
