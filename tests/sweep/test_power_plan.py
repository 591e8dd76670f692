"""The power plan is printed after the base model's evaluation and before the first cell trains."""

from iftkit.config.loader import load_recipe
from iftkit.sweep import cells
from iftkit.testing.sweep_runs import BASE_EVAL_LINE, CHEAP, sweep_recipe


def test_the_plan_is_printed_before_the_first_cell_trains(tmp_path, tiny_model_dir, isolated_cache, monkeypatch):
    said = []
    monkeypatch.setattr(cells, "run_cell", lambda cell, run: said.append(f"CELL {cell.label}"))
    path = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 0.5, 1.0]", seeds="[0, 1]", **CHEAP)
    cells.run_sweep(load_recipe(str(path)), str(path), say=said.append, progress=False)
    base = next(i for i, line in enumerate(said) if line.startswith(BASE_EVAL_LINE))
    first_cell = next(i for i, line in enumerate(said) if line.startswith("CELL "))
    plan = [line for line in said[base:first_cell] if line.startswith("[plan] power plan, ")]
    assert [p.split(" (")[0] for p in plan] == ["[plan] power plan, in-domain", "[plan] power plan, general"]
    assert "task_tolerant on in_domain" in plan[0] and "2 seed(s) per point" in plan[0]
    assert "Holm over 2 vs the other points" in plan[0] and "Holm over 3 vs the points" in plan[1]
    assert "detects " in plan[0] and "at 80 % power" in plan[0]
    assert "target 0.03" in plan[0] and "priors, not measured yet" in plan[0]
