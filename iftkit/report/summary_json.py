"""summary.json: the report's choices, recommendations and every point, for scripts and W&B."""

from iftkit.report.axes import Axes, ReportSpec, is_held_out
from iftkit.report.curve import propose_ratio


def summary_json(pts, recs, axes: Axes, spec: ReportSpec, meta: dict) -> dict:
    """summary.json: the choices, the recommendations and every point, for scripts and W&B."""
    return {
        "name": spec.name,
        "x_key": spec.x_key,
        "primary_scorer": axes.shown,
        "primary_reason": axes.primary_why.replace("`", ""),
        "keep_general": spec.keep_general,
        **meta,
        "general_axis": {
            "suite": axes.gen_suite,
            "scorer": axes.gen_scorer,
            "held_out": is_held_out(axes.gen_suite),
            "reason": axes.gen_why.replace("`", ""),
        },
        "recommendations": [
            {
                "scenario": r.scenario,
                "x": None if r.point is None else r.point.x,
                "series": None if r.point is None else r.point.series,
                "adapter_scale": None if r.point is None else r.point.adapter_scale,
                "step": None if r.point is None else r.point.step,
                "final_step": None if r.point is None else r.point.final_step,
                "reason": r.reason,
                "confidence": r.confidence,
                "undetermined": r.notes,
            }
            for r in recs
        ],
        "points": [
            {
                "x": p.x,
                "series": p.series,
                "adapter_scale": p.adapter_scale,
                "in_domain": p.in_domain,
                "general": p.general,
                "in_sd": p.in_sd,
                "gen_sd": p.gen_sd,
                "seeds": p.seeds,
                "in_ci": p.in_ci.to_dict() if p.in_ci else None,
                "gen_ci": p.gen_ci.to_dict() if p.gen_ci else None,
                "identical_to_base": p.identical,
                "degenerate_answers": p.degenerate,
                "keeps_general": p.keeps_general,
                "truncated": p.truncated,
                "s1_outcome": {True: "above", False: "below", None: "undetermined"}[p.keeps_general]
                if not p.is_base else None,
                "general_margin": p.general_margin.to_dict() if p.general_margin else None,
                "step": p.step,
                "final_step": p.final_step,
            }
            for p in pts
        ],
        # the intermediate grid value report/curve.py proposes where the in-domain knee falls between two
        "proposed_x": propose_ratio(pts, spec.x_key)._asdict(),
        "judge_trust": None if axes.judge_trust is None else {
            "outputs": {k: t.__dict__ for k, t in axes.judge_trust.items()}, "gated": axes.gated},
    }
