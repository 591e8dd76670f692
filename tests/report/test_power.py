"""The report repeats the power plan beside its verdicts, planned from the base model's scores and measured on
the sweep's comparisons; the plan follows the scorer's declared scale (the old proportion formula did not)."""

import re

import numpy as np

from iftkit.report.axes import ReportSpec
from iftkit.report.render import write_report


def _sweep(kind: str, rng, n=60):
    """Rows and samples of a base model and 4 ratios x 2 seeds: 0/1 or continuous scores."""
    rows, samples = [], {}
    cells = [("base", {}, 0.5, None)] + [(f"r{x}-s{s}", {"mix.target_ratio": x}, 0.5 + x / 4, s)
                                          for x in (0.0, 0.1, 0.5, 1.0) for s in (0, 1)]
    for cell, grid, mean, _ in cells:
        got = samples.setdefault(cell, {})
        for suite in ("in_domain", "general"):
            m = mean if suite == "in_domain" else 0.6
            vals = ((rng.random(n) < m).astype(float) if kind == "binary"
                    else np.clip(m + 0.05 * rng.standard_normal(n), 0, 1))
            rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer="task_tolerant",
                             mean=float(vals.mean()), n=n, values=kind, scale=[0.0, 1.0]))
            for i, v in enumerate(vals):
                got[(suite, f"{suite}-{i}")] = (f"{cell}-{suite}-{i}", {"task_tolerant": float(v)})
    return rows, samples


def _power_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("- Power, ")]


def test_the_report_repeats_the_plan_beside_the_verdicts(tmp_path):
    rows, samples = _sweep("binary", np.random.default_rng(0))
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t", "power_target": 0.05}, samples=samples)
    md = files.markdown.read_text()
    lines = _power_lines(md)
    assert [line.split(" (")[0] for line in lines] == ["- Power, in-domain", "- Power, general"]
    assert md.index("## Recommendation") < md.index(lines[0]) < md.index("## Tradeoff")
    assert "60 prompts x 2 seed(s), adapter vs adapter, Holm over 3" in lines[0]
    assert "adapter vs the S1 floor, Holm over 4" in lines[1]
    for line in lines:
        assert "target 0.05" in line and "priors, not measured yet" in line
        assert "Measured on this sweep: detects" in line
        assert "seed sd" in line.split("Measured on this sweep")[1] and "measured" in line.split("Measured")[1]


def test_continuous_scores_are_planned_on_their_own_spread(tmp_path):
    """Embedding-like scores with per-prompt sd 0.05: the old proportion formula said 2.8 sqrt(2 m (1 - m) / n)
    = 0.25 at m = 0.5, 60 prompts; the paired t on this spread detects about 2.8 x 0.05 x sqrt(2 / 60) = 0.026
    with one seed (Holm over 3 widens it a little)."""
    rows, samples = _sweep("continuous", np.random.default_rng(1))
    rows = [r for r in rows if r["cell"] == "base" or r["cell"].endswith("s0")]
    samples = {c: s for c, s in samples.items() if c == "base" or c.endswith("s0")}
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"}, samples=samples)
    line = _power_lines(files.markdown.read_text())[0]
    planned = float(re.search(r"detects (\d\.\d+) at 80 % power", line).group(1))
    assert 0.02 < planned < 0.05, line
    assert "1 seed per point: retraining variability is not measured" in line


def test_the_measured_plan_counts_the_runner_ups_seeds_when_the_leaders_agree_exactly():
    """The quickstart's leader scored 1.000 on both seeds (no seed spread at the ceiling) while its runner-up's
    seeds read 0.88 and 0.73: the measured plan said "seed sd 0.000" and detected 0.060."""
    from iftkit.core.stats import BINARY, ScoreScale
    from iftkit.report.points import Point
    from iftkit.report.power import measured

    scale, n = ScoreScale(BINARY, 0.0, 1.0), 100
    leader = Point(1.0, "", 1.0, 0.5, seeds=2, scores={"in_domain": np.ones((2, n))}, in_scale=scale)
    spread = np.zeros((2, n))
    spread[0, :88], spread[1, :73] = 1, 1
    agree = np.zeros((2, n))
    agree[:, :80] = 1
    varies = measured("in_domain", "x", leader, Point(0.5, "", 0.8, 0.5, seeds=2, scores={"in_domain": spread},
                                                      in_scale=scale), 4, 1.0, 0.03)
    steady = measured("in_domain", "x", leader, Point(0.5, "", 0.8, 0.5, seeds=2, scores={"in_domain": agree},
                                                      in_scale=scale), 4, 1.0, 0.03)
    assert "seed sd 0.000" not in varies.basis and "seed sd 0.000" in steady.basis
    assert varies.mde > steady.mde
