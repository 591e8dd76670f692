"""The curve, fitted (report/curve.py): isotonic regression by pool-adjacent-violators, the in-domain knee,
the intermediate grid value proposed for the decide step, and the fit drawn on both charts."""

import math

import matplotlib
import numpy as np
import pytest
from report.test_report import _paired, png_size

from iftkit.core.errors import IftkitError
from iftkit.core.stats import Estimate
from iftkit.report import charts
from iftkit.report.axes import ReportSpec
from iftkit.report.curve import (
    Proposal,
    curve_lines,
    draw_fit_tradeoff,
    draw_fit_vs_x,
    fit_axis,
    grid_points,
    knee,
    knee_of,
    pav,
    propose_ratio,
)
from iftkit.report.points import BASE, Point, attach_samples, points
from iftkit.report.render import write_report

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RATIOS = (0.0, 0.1, 0.5, 1.0)


# --- pool-adjacent-violators, against hand-computed fits ---


def test_pav_leaves_a_monotone_sequence_unchanged():
    assert pav([0.1, 0.2, 0.2, 0.7]).tolist() == [0.1, 0.2, 0.2, 0.7]
    assert pav([0.7, 0.2, 0.2, 0.1], increasing=False).tolist() == [0.7, 0.2, 0.2, 0.1]


def test_pav_pools_a_violation_into_its_mean():
    assert pav([1.0, 3.0, 2.0, 4.0]).tolist() == [1.0, 2.5, 2.5, 4.0]
    # a later violation pools back through an earlier block: (3 + 2 + 1) / 3 for the three
    assert pav([3.0, 2.0, 1.0, 5.0]).tolist() == [2.0, 2.0, 2.0, 5.0]
    assert pav([4.0, 2.0, 3.0, 1.0], increasing=False).tolist() == [4.0, 2.5, 2.5, 1.0]


def test_pav_pools_by_weight():
    # (3 x 3 + 1 x 2) / 4 = 2.75: the heavier point pulls the pooled value
    assert pav([1.0, 3.0, 2.0, 4.0], [1.0, 3.0, 1.0, 1.0]).tolist() == [1.0, 2.75, 2.75, 4.0]
    assert pav([1.0, 3.0, 2.0, 4.0], [1.0, 1.0, 3.0, 1.0]).tolist() == [1.0, 2.25, 2.25, 4.0]


def test_pav_refuses_bad_weights_in_one_line():
    with pytest.raises(IftkitError, match="positive finite weights"):
        pav([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(IftkitError, match="one weight each"):
        pav([1.0, 2.0], [1.0])


# --- where gains flatten ---


def test_knee_of_a_rise_then_plateau_is_where_it_reaches_90_percent():
    # rises 0 -> 1 between 0 and 0.2, flat after: 90 % of the gain is reached at 0.1 + 0.8 x 0.1 = 0.18
    assert knee_of([0.0, 0.1, 0.2, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0, 1.0]) == pytest.approx(0.18)
    # lower is better: the same curve upside down has the same knee
    assert knee_of([0.0, 0.1, 0.2, 0.5, 1.0], [1.0, 0.5, 0.0, 0.0, 0.0], higher_is_better=False) == pytest.approx(0.18)


def test_knee_of_a_saturating_exponential_on_a_fine_grid():
    tau = 0.15
    xs = np.linspace(0, 1, 401)
    f = 1 - np.exp(-xs / tau)
    # f(x) - f(0) = 0.9 (f(1) - f(0))  <=>  x = -tau ln(1 - 0.9 (1 - e^(-1/tau)))
    want = -tau * math.log(1 - 0.9 * (1 - math.exp(-1 / tau)))
    assert knee_of(xs, f) == pytest.approx(want, abs=1e-4)


def test_no_gain_no_knee():
    assert knee_of([0.0, 0.5, 1.0], [0.5, 0.5, 0.5]) is None
    assert knee_of([0.0, 0.5, 1.0], [0.6, 0.5, 0.4]) is None


# --- fits over points ---


def _pt(x, ind, gen=0.5, half=0.02, series="", gen_half=None):
    """A one-seed point with a 95 % CI of +-half on in-domain (gen_half on general; None: no CI)."""
    p = Point(x, series, ind, gen, in_ci=Estimate(ind, ind - half, ind + half, 100) if half else None)
    if gen_half:
        p.gen_ci = Estimate(gen, gen - gen_half, gen + gen_half, 100)
    return p


def test_fit_weights_each_point_by_its_precision_and_chooses_the_direction_from_the_data():
    group = [_pt(0.0, 0.2), _pt(0.5, 0.6, half=0.01), _pt(1.0, 0.5, half=0.1)]
    fit = fit_axis(group, "in_domain")
    w1, w2 = 1 / 0.01**2, 1 / 0.1**2
    assert fit.increasing and fit.weighted
    assert fit.fitted[1] == fit.fitted[2] == pytest.approx((0.6 * w1 + 0.5 * w2) / (w1 + w2))
    assert (fit.low <= fit.fitted + 1e-9).all() and (fit.fitted <= fit.high + 1e-9).all()
    # an in-domain score that falls with the ratio is fitted falling, not forced up
    falling = fit_axis([_pt(0.0, 0.8), _pt(0.5, 0.5), _pt(1.0, 0.3)], "in_domain")
    assert not falling.increasing and falling.fitted.tolist() == [0.8, 0.5, 0.3]
    # a flat axis takes its usual shape: general falls with the ratio
    flat = fit_axis([_pt(0.0, 0.5, gen=0.4), _pt(1.0, 0.5, gen=0.4)], "general")
    assert not flat.increasing and not flat.weighted and flat.low is None


def test_a_wider_interval_gives_a_wider_band():
    narrow = fit_axis([_pt(x, v, half=0.02) for x, v in zip(RATIOS, (0.2, 0.5, 0.8, 0.85))], "in_domain")
    wide = fit_axis([_pt(x, v, half=0.1) for x, v in zip(RATIOS, (0.2, 0.5, 0.8, 0.85))], "in_domain")
    assert ((wide.high - wide.low) > (narrow.high - narrow.low)).all()


def test_grid_points_are_the_final_adapters_as_trained_per_series():
    base = Point(BASE, "", 0.1, 0.6)
    scaled = Point(0.5, "", 0.3, 0.6, adapter_scale=0.5)
    ckpt = Point(0.5, "", 0.3, 0.6, adapter_scale=1.0, step=10, final_step=30)
    a, b, c = _pt(1.0, 0.9), _pt(0.1, 0.4), _pt(0.1, 0.4, series="lr=1e-4")
    assert grid_points([base, scaled, ckpt, a, b, c]) == {"": [b, a], "lr=1e-4": [c]}


# --- the intermediate grid value for the decide step ---


def test_propose_ratio_is_the_midpoint_where_the_knee_falls_between_grid_points():
    # gain 0.8, 90 % reached at 0.92: between 0.5 (0.9) and 1.0 (1.0), at 0.6
    pts = [_pt(x, v) for x, v in zip(RATIOS, (0.2, 0.5, 0.9, 1.0))]
    got = propose_ratio(pts)
    assert isinstance(got, Proposal) and got.x == pytest.approx(0.75)
    assert "between ratio=0.5 and ratio=1" in got.reason and "~0.6" in got.reason


def test_propose_ratio_is_none_when_a_grid_point_sits_at_the_knee():
    # gain 0.6; 0.5 reaches exactly 90 % of it (0.54): the knee is the grid point 0.5
    pts = [_pt(x, v) for x, v in zip(RATIOS, (0.2, 0.4, 0.74, 0.8))]
    assert knee(grid_points(pts)[""]).x == pytest.approx(0.5)
    got = propose_ratio(pts)
    assert got.x is None and "ratio=0.5 sits at the knee" in got.reason


def test_propose_ratio_is_none_without_a_gain_or_with_one_inside_the_band():
    flat = propose_ratio([_pt(x, v) for x, v in zip(RATIOS, (0.5, 0.4, 0.45, 0.3))])
    assert flat.x is None and "does not rise" in flat.reason
    noisy = propose_ratio([_pt(x, v, half=0.3) for x, v in zip(RATIOS, (0.4, 0.45, 0.5, 0.52))])
    assert noisy.x is None and "within the fit's 95 % band" in noisy.reason
    two = propose_ratio([_pt(0.0, 0.2), _pt(1.0, 0.9), _pt(0.0, 0.2, series="b"), _pt(1.0, 0.9, series="b")])
    assert two.x is None and "2 series" in two.reason


def test_propose_count_is_a_whole_number_midway_on_the_charts_log_scale():
    pts = [_pt(x, v) for x, v in zip((0, 10, 100, 1000), (0.2, 0.5, 0.9, 1.0))]
    got = propose_ratio(pts, "mix.target_count")
    # the knee falls between 100 and 1000; midway on log(1 + n): sqrt(101 x 1001) - 1 = 316.96
    assert got.x == 317.0 and "n=317" in got.reason


# --- the report and its charts ---


def _sweep(n=100, seeds=3):
    """A sweep whose in-domain score rises to a plateau by ratio 0.5 and whose general score falls."""
    rng = np.random.default_rng(3)
    shape = {0.0: (0.2, 0.62), 0.1: (0.5, 0.6), 0.5: (0.85, 0.52), 1.0: (0.88, 0.3)}
    cells = {BASE: ({}, (rng.random(n) < 0.2) * 1.0, (rng.random(n) < 0.6) * 1.0)}
    for r, (ind, gen) in shape.items():
        for s in range(seeds):
            cells[f"r{r}-s{s}"] = ({"mix.target_ratio": r}, (rng.random(n) < ind) * 1.0, (rng.random(n) < gen) * 1.0)
    return _paired(cells, n=n)


def test_knee_band_from_a_sweep_with_per_prompt_scores():
    rows, samples = _sweep()
    pts = points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(pts, samples, "task_tolerant")
    k = knee(grid_points(pts)[""])
    assert 0.1 < k.x <= 1.0 and k.low is not None and k.low <= k.x <= k.high and k.gain_shown
    lines = curve_lines(pts, "mix.target_ratio")
    assert lines[0] == "## The curve, fitted"
    assert any(line.startswith(f"- In-domain gains flatten after ratio ~{k.x:.3g} (band {k.low:.3g}–{k.high:.3g})")
               for line in lines)
    assert any(line.startswith("- General: the fit goes from") for line in lines)


def test_draw_helpers_add_a_line_over_a_band():
    rows, samples = _sweep()
    pts = points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(pts, samples, "task_tolerant")
    fig, ax = plt.subplots()
    draw_fit_vs_x(ax, grid_points(pts)[""], "in_domain", "#1f77b4", label="fit")
    assert [line.get_label() for line in ax.lines] == ["fit"] and len(ax.collections) == 1
    fig2, ax2 = plt.subplots()
    draw_fit_tradeoff(ax2, pts)
    assert len(ax2.lines) == 1 and len(ax2.patches) == 1
    plt.close(fig)
    plt.close(fig2)


def test_both_charts_carry_the_fit_and_the_report_says_where_gains_flatten(tmp_path, monkeypatch):
    rows, samples = _sweep()
    drawn = []
    close = charts.plt.close

    def keep(fig):
        drawn.append(fig)
        close(fig)

    monkeypatch.setattr(charts.plt, "close", keep)
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.9),
                         {"target_task": "t"}, samples=samples)
    png_size(files.tradeoff_png)
    png_size(files.scores_png)
    tradeoff, scores = drawn[:2]
    labels = [line.get_label() for line in tradeoff.axes[0].lines]
    assert "monotone fit over the grid (95 % band)" in labels and tradeoff.axes[0].patches
    panel = [line.get_label() for line in scores.axes[0].lines]
    assert {"in-domain fit, 95 % band", "general fit, 95 % band", "in-domain knee (90 % of fitted gain)"} <= set(panel)
    md = files.markdown.read_text()
    assert "## The curve, fitted" in md and "- In-domain gains flatten after ratio ~" in md
    proposed = files.summary["proposed_x"]
    assert set(proposed) == {"x", "reason"} and proposed["reason"]
