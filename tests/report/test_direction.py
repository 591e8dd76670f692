"""A scorer's direction reaches the recommendation, the report and the charts: a lower-is-better
scorer (an error rate, a distance) is recommended at its minimum and labelled so."""

import json

import numpy as np

from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.results import aggregate_rows
from iftkit.evaluation.scorers import Scorer
from iftkit.report.axes import ReportSpec
from iftkit.report.render import write_report


class Distance(Scorer):
    """A dummy error measure: 0 is a perfect answer, so lower is better."""

    name = "distance"
    higher_is_better = False


# cell -> (ratio, in-domain distance, general distance), in characters; the base model's general distance is 4
CELLS = {
    "base": (None, 7.0, 4.0),
    "r0": (0.0, 6.8, 4.1),
    "r1": (0.1, 3.0, 4.2),  # the lowest in-domain distance that keeps general within 1/0.9 of base
    "r5": (0.5, 1.5, 5.0),  # general 5.0 > 4.0 / 0.9 = 4.44: drops out of S1
    "r10": (1.0, 0.5, 8.0),  # the lowest in-domain distance overall: S2
}
PROMPTS = 40


def _sweep():
    """Result rows as aggregate_rows writes them (two seeds per ratio), tagged with cell and grid as a sweep
    tags them, and the per-prompt scores the paired statistics read."""
    rng = np.random.default_rng(0)
    records, samples, grid = [], {}, {}
    for cell, (ratio, ind, gen) in CELLS.items():
        for seed in ([0] if ratio is None else [0, 1]):
            label = cell if ratio is None else f"{cell}-s{seed}"
            grid[label] = {} if ratio is None else {"mix.target_ratio": ratio}
            for suite, mean in (("in_domain", ind), ("general", gen)):
                for i, v in enumerate(mean + rng.normal(0, 0.1, PROMPTS)):
                    rec = SampleRecord(model=label, suite=suite, task="t", category="c", sample_id=str(i),
                                       prompt=[{"role": "user", "content": f"q{i}"}], prediction=f"a{i}",
                                       reference="ref", gold=None, scores={"distance": float(v)})
                    records.append(rec)
                    samples.setdefault(label, {})[(suite, str(i))] = (rec.prediction + label, rec.scores)
    rows = aggregate_rows(records, {"distance": Distance()}, n_boot=0)
    for r in rows:
        r.update(cell=r["model"], grid=grid[r["model"]])
    return rows, samples


def test_a_lower_is_better_scorer_is_recommended_at_its_minimum_and_labelled_so(tmp_path):
    rows, samples = _sweep()
    assert {r["higher_is_better"] for r in rows} == {False}  # the scorer's direction, carried by its rows
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio",
                                                    "distance", 0.9, general_kind="trained"),
                         {"target_task": "t"}, samples=samples)
    picks = {r["scenario"]: r for r in files.summary["recommendations"]}
    assert picks["S1"]["x"] == 0.1 and picks["S2"]["x"] == 1.0
    kept = {p["x"]: p["keeps_general"] for p in files.summary["points"] if p["x"] != "base"}
    assert kept == {0.0: True, 0.1: True, 0.5: False, 1.0: False}
    floor = files.summary["points"][0]["general"] / 0.9
    md = files.markdown.read_text()
    assert "Primary scorer: `distance`, from sweep.primary_scorer; lower is better." in md
    assert ("- S1: **ratio=0.1** — lowest in-domain among points whose general score stays <= 111% of the base "
            f"model's ({floor:.3f}; lower is better), shown below it with 95 % confidence") in md
    assert "- S2: **ratio=1.0** — lowest in-domain score, general ability ignored" in md
    assert "| distance (lower is better) |" in md
    assert "higher is better" not in md
    json.loads((tmp_path / "summary.json").read_text())


def test_the_charts_draw_a_lower_is_better_axis_inverted(tmp_path, monkeypatch):
    import matplotlib.axes

    seen = []
    for name in ("invert_xaxis", "invert_yaxis", "set_xlabel", "set_ylabel"):
        original = getattr(matplotlib.axes.Axes, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            seen.append((_name, args[0] if args else None))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(matplotlib.axes.Axes, name, spy)
    rows, samples = _sweep()
    write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "distance", 0.9, general_kind="trained"),
                 {"target_task": "t"}, samples=samples)
    # tradeoff.png: both axes read `distance`, so both are inverted (up and right stay better);
    # scores_vs_x.png: its one panel is inverted
    assert [n for n, _ in seen].count("invert_xaxis") == 1 and [n for n, _ in seen].count("invert_yaxis") == 2
    labels = [text for n, text in seen if n in ("set_xlabel", "set_ylabel") and "score" in str(text)]
    assert labels and all("lower is better" in text for text in labels)
