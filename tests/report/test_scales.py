"""Scaled adapters in the report: their own points, paired against the base model like any other,
on the joint Pareto frontier, and recommendable as a (ratio, scale) pair."""

import json

from report.test_report import _bits, _paired, png_size

from iftkit.report.axes import ReportSpec
from iftkit.report.points import attach_samples, points
from iftkit.report.render import write_report
from iftkit.report.scales import pareto_front, scale_families
from iftkit.report.summary import recommend

SCALED = "r10-adapter_scale=0.5"


def _sweep_with_a_scaled_specialist():
    """The pure specialist forgets general ability; run at half strength it keeps it and still
    beats the mixed adapter in-domain."""
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1": ({"mix.target_ratio": 0.1}, _bits(20), _bits(40)),
            "r10": ({"mix.target_ratio": 1.0}, _bits(58), _bits(10)),
            SCALED: ({"mix.target_ratio": 1.0}, _bits(50), _bits(48)),
        }
    )
    for r in rows:
        r["adapter_scale"] = {"base": None, SCALED: 0.5}.get(r["cell"], 1.0)
    return rows, samples


def test_a_scaled_point_on_the_frontier_is_recommended_as_a_ratio_scale_pair():
    rows, samples = _sweep_with_a_scaled_specialist()
    pts = points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(pts, samples, "task_tolerant")
    assert [(p.x, p.adapter_scale) for p in pts] == [("base", None), (0.1, 1.0), (1.0, 1.0), (1.0, 0.5)]
    scaled = pts[3]
    assert scaled.in_ci.n == 60 and scaled.identical == (0, 120)  # paired against the base model like any adapter
    assert [(p.x, p.adapter_scale) for p in pareto_front(pts)] == [(1.0, 1.0), (1.0, 0.5)]
    [(trained, family)] = scale_families(pts)
    assert trained is pts[2] and family == [scaled]
    recs = {r.scenario: r for r in recommend(pts, keep_general=0.95)}
    assert recs["S1"].point is scaled and scaled.keeps_general is True
    # one seed per point: the lead is real on these prompts, but retraining variability was not measured
    assert recs["S1"].confidence.startswith("medium") and "95 % CI" in recs["S1"].confidence
    assert recs["S2"].point is pts[2]  # the specialist as trained: best in-domain outright


def test_report_names_the_pair_draws_both_families_and_says_what_scaling_adds(tmp_path):
    rows, samples = _sweep_with_a_scaled_specialist()
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "sentiment"}, samples=samples)
    md = files.markdown.read_text()
    assert "- S1: **ratio=1.0 at adapter_scale=0.5**" in md
    assert "Joint Pareto frontier, most general first: ratio=1.0 at adapter_scale=0.5, ratio=1.0." in md
    assert "- ratio=1.0 at adapter_scale=0.5 beats ratio=0.1: in-domain +0.500 [" in md
    s1 = json.loads((tmp_path / "summary.json").read_text())["recommendations"][0]
    assert (s1["x"], s1["adapter_scale"]) == (1.0, 0.5)
    assert png_size(files.tradeoff_png)[0] > 600


def test_without_scaled_points_the_report_has_no_scales_section(tmp_path):
    rows, samples = _sweep_with_a_scaled_specialist()
    rows = [r for r in rows if r["cell"] != SCALED]
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                         {}, samples=samples)
    assert "Adapter scales" not in files.markdown.read_text()
    assert files.summary["recommendations"][1]["adapter_scale"] == 1.0
