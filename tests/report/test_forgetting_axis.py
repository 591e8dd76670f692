"""The forgetting suite's NLL as the general axis: held out, lower is better, per-prompt paired, and never
counted as an answer (its records generate nothing)."""

import numpy as np
import pytest

from iftkit.report.axes import ReportSpec, choose_general, is_held_out
from iftkit.report.render import write_report

N = 40


def _nll(shift, seed):
    rng = np.random.default_rng(seed)
    return 2.0 + 0.3 * np.sin(np.arange(N)) + shift + 0.01 * rng.standard_normal(N)


def _rows_and_samples():
    """base, 0.1 (NLL +0.05: keeps general), 1.0 (NLL +0.6: forgets); in-domain rises with the ratio."""
    cells = {"base": ({}, 0.2, 0.0), "r1": ({"mix.target_ratio": 0.1}, 0.6, 0.05),
             "r10": ({"mix.target_ratio": 1.0}, 0.9, 0.6)}
    rows, samples = [], {}
    for k, (cell, (grid, ind, shift)) in enumerate(cells.items()):
        bits = (np.arange(N) < ind * N).astype(float)
        nll = _nll(shift, k)
        rows.append(dict(cell=cell, grid=grid, suite="in_domain", task="__all__", scorer="task_tolerant",
                         mean=float(bits.mean()), n=N, values="binary", scale=[0.0, 1.0]))
        rows.append(dict(cell=cell, grid=grid, suite="general", task="__all__", scorer="task_tolerant",
                         mean=0.5, n=N, values="binary", scale=[0.0, 1.0]))
        rows.append(dict(cell=cell, grid=grid, suite="forgetting", task="__all__", scorer="nll",
                         mean=float(nll.mean()), n=N, values="continuous", scale=[0.0, None], higher_is_better=False))
        rows.append(dict(cell=cell, grid=grid, suite="held_out", task="__all__", scorer="embedding", mean=0.5, n=N,
                         values="continuous", scale=[-1.0, 1.0]))
        got = samples.setdefault(cell, {})
        for i in range(N):
            got[("in_domain", f"i{i}")] = (f"{cell}-{i}", {"task_tolerant": float(bits[i])})
            got[("forgetting", f"f{i}")] = ("", {"nll": float(nll[i])})
    return rows, samples


def test_forgetting_is_a_held_out_axis_preferred_to_the_instruction_set():
    rows, _ = _rows_and_samples()
    assert is_held_out("forgetting")
    suite, scorer, why = choose_general(rows, "held_out", None, "task_tolerant")
    assert (suite, scorer) == ("forgetting", "nll") and "forgetting suite" in why
    # a user's sweep.general_scorer still wins
    assert choose_general(rows, "held_out", "held_out:embedding", "task_tolerant")[:2] == ("held_out", "embedding")


def test_s1_keeps_the_point_whose_nll_stays_under_the_floor_and_forgetting_rows_are_no_answers(tmp_path):
    rows, samples = _rows_and_samples()
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.9),
                         {"target_task": "t"}, samples=samples)
    axis = files.summary["general_axis"]
    assert (axis["suite"], axis["scorer"]) == ("forgetting", "nll")
    recs = {r["scenario"]: r for r in files.summary["recommendations"]}
    # floor: base NLL / 0.9 (~2.22): 1.0 (~2.6) is above it, 0.1 (~2.05) below
    assert recs["S1"]["x"] == 0.1 and recs["S2"]["x"] == 1.0
    pts = {p["x"]: p for p in files.summary["points"]}
    assert pts[1.0]["keeps_general"] is False and pts[0.1]["keeps_general"] is True
    assert pts[0.1]["general"] == pytest.approx(float(_nll(0.05, 1).mean()))
    md = files.markdown.read_text()
    # the forgetting records' empty predictions are neither degenerate answers nor answers equal to the base's
    assert "degenerate" not in md
    assert f"0/{N}" in md
