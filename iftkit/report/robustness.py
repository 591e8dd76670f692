"""How much the recommendation depends on which scorer reads each axis.

S1 is picked against one general axis and S2 under one in-domain scorer (rules in summary.py).
The robustness lines redo S1 under every other general axis that ran, and S2 under every other
scorer with in-domain scores, and say how often the pick stays the same: "S1 = ratio=0.1 under 5
of 6 general axes". A pick that holds under one axis only rests on that axis's choice.
"""

from typing import Optional

from iftkit.report.axes import Axes, ReportSpec, general_axes
from iftkit.report.points import attach_samples, oriented, points
from iftkit.report.scales import point_label
from iftkit.report.summary import recommend


def robustness_lines(rows, recs, per_scorer: dict, samples: Optional[dict], spec: ReportSpec, axes: Axes) -> list[str]:
    """spec: the report's reading choices (x_key, keep_general); axes: the primary scorer and the chosen general
    axis (report/axes.py)."""
    picks = {r.scenario: r.point for r in recs}
    x_key, keep_general, primary = spec.x_key, spec.keep_general, axes.shown
    lines = []
    candidates = general_axes(rows)
    if picks.get("S1") is not None and len(candidates) > 1:
        s1 = picks["S1"]
        got = []
        for suite, scorer in candidates:
            pts = points(rows, primary, x_key, gen_suite=suite, gen_scorer=scorer)
            if samples:
                attach_samples(pts, samples, primary, general=(suite, scorer))
            rec = recommend(pts, keep_general)[0]
            got.append(((suite, scorer), rec.point))
        same = sum(p is not None and p.key == s1.key for _, p in got)
        other = [f"`{sc}` on `{su}`: {'none' if p is None else point_label(p, x_key)}"
                 for (su, sc), p in got if p is None or p.key != s1.key]
        lines.append(f"- S1 = {point_label(s1, x_key)} under {same} of {len(got)} general axes"
                     + (f" (elsewhere: {'; '.join(other)})" if other else "") + ".")
    in_domain = {s: [p for p in pts if not p.is_base and p.in_domain == p.in_domain]
                 for s, pts in per_scorer.items() if s != primary}
    in_domain = {s: pts for s, pts in in_domain.items() if pts}
    if picks.get("S2") is not None and in_domain:
        s2 = picks["S2"]
        got = {s: max(pts, key=oriented) for s, pts in in_domain.items()}  # each scorer's own direction
        same = sum(p.key == s2.key for p in got.values()) + 1
        other = [f"`{s}`: {point_label(p, x_key)}" for s, p in got.items() if p.key != s2.key]
        lines.append(f"- S2 = {point_label(s2, x_key)} under {same} of {len(got) + 1} in-domain scorers"
                     " (point estimates)"
                     + (f" (elsewhere: {'; '.join(other)})" if other else "") + ".")
    if not lines:
        return []
    return ["", f"Robustness (the recommendation under every other scorer that ran; chosen general axis: "
                f"`{axes.gen_scorer}` on `{axes.gen_suite}`):", *lines, ""]
