"""`iftkit sweep decide`: the loop on simulated sweeps (false leads over all looks, the budget), the record of
added cells, and a tiny-model sweep that adds a cell, marks it, and resumes without retraining."""

import json

import pytest

from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.report.summary import Point
from iftkit.sweep.added import DECIDE_FILE, Added, DecideLog, decide_meta, sweep_cells
from iftkit.sweep.decide import _new_cells
from iftkit.sweep.decide_plan import Plan
from iftkit.sweep.decide_sim import DecideSetting, evaluate_loop
from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import CHEAP, run_sweep, sweep_recipe


def test_the_loop_on_equal_adapters_keeps_false_leads_under_5_percent_and_its_budget():
    st = DecideSetting(0.0, "binary", prompts=100, planned=2)
    got = evaluate_loop(st, reps=150, seed=3)
    assert got["false_lead_rate"] <= 0.05
    assert got["max_added"] <= st.max_cells


def test_the_loop_stops_once_a_clear_leader_is_decided():
    st = DecideSetting(0.2, "beta", prompts=100, planned=2, max_cells=8)
    got = evaluate_loop(st, reps=40, seed=5)
    assert got["false_lead_rate"] <= 0.05 and got["max_added"] <= 8
    assert got["decided"] >= 0.3 and got["mean_added"] < 8  # some sweeps stop before the budget is spent


def _recipe(tmp_path):
    return load_recipe(sweep_recipe(tmp_path, "m", grid="[0.0, 1.0]", seeds="[0, 1]"))


def test_added_cells_join_the_grid_marked_and_a_bad_record_stops_with_one_line(tmp_path):
    recipe = _recipe(tmp_path)
    root = tmp_path / "runs" / "tiny-sweep"
    assert [c.label for c in sweep_cells(recipe)] == [
        "ratio=0.0-seed=0", "ratio=0.0-seed=1", "ratio=1.0-seed=0", "ratio=1.0-seed=1"]
    assert decide_meta(root) is None
    root.mkdir(parents=True)
    DecideLog(root / DECIDE_FILE, 3, [Added(1, "ratio=1.0-seed=2", {"mix.target_ratio": 1.0}, 2, "S2 pick")]).save()
    cells = sweep_cells(recipe)
    assert [c.label for c in cells][-1] == "ratio=1.0-seed=2" and cells[-1].added == {"round": 1, "why": "S2 pick"}
    assert cells[-1].recipe.training.seed == 2 and all(c.added is None for c in cells[:-1])
    meta = decide_meta(root)
    assert meta["looks"] == 3 and meta["alpha"] == pytest.approx(0.05 / 3)
    assert "α = 0.05/3 = 0.0167" in meta["lines"][1] and "ratio=1.0-seed=2 (round 1: S2 pick)" in meta["lines"][1]
    (root / DECIDE_FILE).write_text("{not json")
    with pytest.raises(IftkitError, match=f"{DECIDE_FILE}: unreadable decide record"):
        sweep_cells(recipe)


def test_an_added_seed_is_the_next_unused_one_for_its_grid_value(tmp_path):
    recipe = _recipe(tmp_path)
    cells = sweep_cells(recipe)
    pick = Point(1.0, "", 0.8, 0.5, seeds=2, cells=["ratio=1.0-seed=0", "ratio=1.0-seed=1"])
    new = _new_cells(Plan(seeds=[(pick, "S2 pick, low confidence")], ratio=(0.5, "knee"), ratio_cells=2),
                     cells, recipe, "sweep.yaml", 1)
    assert [c.label for c in new] == ["ratio=1.0-seed=2", "ratio=0.5-seed=0", "ratio=0.5-seed=1"]
    assert new[0].added == {"round": 1, "why": "S2 pick, low confidence"}
    assert new[1].added["why"] == "intermediate value mix.target_ratio = 0.5: knee"
    again = _new_cells(Plan(ratio=(1.0, "knee"), ratio_cells=2), cells, recipe, "sweep.yaml", 1)
    assert again == []  # a proposed value the grid already holds adds nothing


def _ratio_only(recs, pts, budget, propose_ratio=None, ratio_cells=1):
    """The tiny model's in-domain scores are all 0, so the report names no point and the real planner adds
    nothing (tested above on hand-built points); this stand-in adds the proposed value once, so the loop's
    own work (record, train, mark, report, resume) runs for real."""
    if not ratio_cells or budget < ratio_cells:
        return Plan()
    return Plan(ratio=propose_ratio(pts), ratio_cells=ratio_cells)


@pytest.mark.slow
def test_decide_adds_a_cell_marks_it_and_a_rerun_resumes_without_retraining(tmp_path, tiny_model_dir, monkeypatch):
    from iftkit.sweep import decide

    path = sweep_recipe(tmp_path, tiny_model_dir, **CHEAP)
    root = tmp_path / "runs" / "tiny-sweep"
    monkeypatch.setenv("IFTKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(decide, "plan_round", _ratio_only)
    lines = []
    # the lead wires report/curve.py's propose_ratio in; a stand-in proposes the knee here
    decide.run_decide(load_recipe(path), str(path), say=lines.append, progress=False,
                      propose_ratio=lambda pts: (0.5, "the knee lies between 0.0 and 1.0"))
    out = "\n".join(lines)
    assert "each of the 3 looks tests at α = 0.0167" in out
    assert "decide round 1: adding ratio=0.5-seed=0 (intermediate value mix.target_ratio = 0.5" in out
    assert "1 cell(s) added in all (ratio=0.5-seed=0)" in out
    log = json.loads((root / DECIDE_FILE).read_text())
    assert log["looks"] == 3 and [a["label"] for a in log["added"]] == ["ratio=0.5-seed=0"]
    assert SweepState(root).get("ratio=0.5-seed=0")["added"]["round"] == 1
    rows = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    assert {r["cell"] for r in rows if r.get("added_round") == 1} == {"ratio=0.5-seed=0"}
    md = (root / "report" / "report.md").read_text()
    assert "Cells added beyond the grid: ratio=0.5-seed=0 (round 1: intermediate value" in md
    assert "α = 0.05/3 = 0.0167" in md

    again = run_sweep(path, tmp_path, "decide").stdout  # the real planner: nothing open it could change
    assert again.count("done earlier, skipped") == 3 and "trained in" not in again and "generations:" not in again
    assert "both picks settled (high, or nothing another seed could change); 1 cell(s) added in all" in again
    status = run_sweep(path, tmp_path, "status").stdout
    assert "3 of 3 cells done" in status and "[added by decide, round 1: intermediate value" in status
    collect = run_sweep(path, tmp_path, "collect")
    assert "not finished yet" not in collect.stdout and "ratio=0.5-seed=0" in (root / "results.jsonl").read_text()
