"""The power plan is printed after the base model's evaluation and before the first cell trains."""

from iftkit.config.loader import load_recipe
from iftkit.sweep import runner
from iftkit.testing.sweep_runs import BASE_EVAL_LINE, CHEAP, sweep_recipe


def test_the_plan_is_printed_before_the_first_cell_trains(tmp_path, tiny_model_dir, isolated_cache, monkeypatch):
    said = []
    monkeypatch.setattr(runner, "run_cell", lambda cell, run: said.append(f"CELL {cell.label}"))
    path = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 0.5, 1.0]", seeds="[0, 1]",
                        **dict(CHEAP, test_size_per_task=6))
    runner.run_sweep(load_recipe(str(path)), str(path), say=said.append, progress=False)
    base = next(i for i, line in enumerate(said) if line.startswith(BASE_EVAL_LINE))
    first_cell = next(i for i, line in enumerate(said) if line.startswith("CELL "))
    plan = [line for line in said[base:first_cell] if line.startswith("[plan] power plan, ")]
    assert [p.split(" (")[0] for p in plan] == ["[plan] power plan, in-domain", "[plan] power plan, general"]
    assert "(task_tolerant on in_domain, 6 prompts x 2 seed(s), adapter vs adapter, Holm over 2)" in plan[0]
    assert "(task_tolerant on general, 12 prompts x 2 seed(s), adapter vs the S1 floor, Holm over 3)" in plan[1]
    for line in plan:
        assert "at 80 % power, two-sided 5 %; target 0.03" in line and "priors, not measured yet" in line
