"""sweep.checkpoints on the tiny model: each cell keeps its adapter at the chosen steps, each kept adapter
is scored like the final one, the rows carry the step, and the report picks among (ratio, step) pairs."""

import json

import pytest

from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.sweep.grid import expand
from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import CHEAP, run_sweep, sweep_recipe

TRAINING = "{max_steps: 3, per_device_train_batch_size: 4, save_steps: 1, save_total_limit: 1, logging_steps: 1}"
CELL = "ratio=1.0-seed=0"


def test_checkpoints_are_kept_scored_and_reported(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]", **dict(CHEAP, training=TRAINING))
    root = tmp_path / "runs" / "tiny-sweep"
    out = run_sweep(recipe, tmp_path, "--sweep.checkpoints", "[1, 2, 3]").stdout

    [adapter] = root.glob("cells/*/adapter")
    kept = sorted(d.name for d in (adapter / "steps").iterdir())
    assert kept == ["step-1", "step-2"]  # step 3 is the final adapter itself, not kept twice
    card = json.loads((adapter / "steps" / "step-1" / "adapter_card.json").read_text())
    assert (card["status"], card["step"], card["final_step"]) == ("checkpoint", 1, 3)
    assert json.loads((adapter / "adapter_card.json").read_text())["kept_steps"] == [1, 2]
    assert not (adapter / "checkpoints").exists()  # the Trainer's rotating checkpoints are still tidied away
    weights = [(adapter / "steps" / s / "adapter_model.safetensors").read_bytes() for s in kept]
    assert len({*weights, (adapter / "adapter_model.safetensors").read_bytes()}) == 3  # training moved them

    rows = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    assert {(r["cell"], r.get("step"), r.get("final_step")) for r in rows} == {
        ("base", None, None), (CELL, 3, 3), (f"{CELL}-step=1", 1, 3), (f"{CELL}-step=2", 2, 3)}
    assert SweepState(root).get(f"{CELL}-step=1")["seconds"] > 0
    summary = json.loads((root / "report" / "summary.json").read_text())
    assert sorted(p["step"] for p in summary["points"] if p["x"] != "base") == [1, 2, 3]
    assert summary["checkpoint_cost"].startswith("checkpoint scoring: 2 kept adapters scored in ")
    assert (root / "report" / "steps.png").stat().st_size > 10_000
    md = (root / "report" / "report.md").read_text()
    assert "## Training checkpoints" in md and "| ratio=1.0 | in-domain |" in md
    assert "checkpoint scoring: 2 kept adapters" in out and "charts: " in out and "steps.png" in out

    again = run_sweep(recipe, tmp_path, "--sweep.checkpoints", "[1, 2, 3]").stdout
    assert "done earlier, skipped" in again and "generations:" not in again


def _recipe(tmp_path, model_dir, extra: str):
    path = sweep_recipe(tmp_path, model_dir, grid="[1.0]", **dict(CHEAP, training=TRAINING))
    path.write_text(path.read_text() + extra)
    return path


def test_every_n_steps_becomes_the_cells_kept_steps_and_part_of_its_training_hash(tmp_path):
    plain = load_recipe(_recipe(tmp_path, "m", ""))
    every = load_recipe(_recipe(tmp_path, "m", "  checkpoints: {every: 1}\n"))
    [p], [e] = expand(plain), expand(every)
    assert e.recipe.training.keep_steps == [1, 2] and "--training.keep_steps" in e.overrides
    assert p.recipe.training.keep_steps == [] and p.train_hash != e.train_hash


@pytest.mark.parametrize("extra, says", [
    ("  checkpoints: [1]\n  adapter_scales: [0.5, 1.0]\n", "sweep.checkpoints and sweep.adapter_scales: a sweep"),
    ("  checkpoints: [5]\n", "step(s) [5] come after training.max_steps = 3"),
    ("  checkpoints: [3]\n", "no step below training.max_steps = 3 to keep"),
    ("  checkpoints: [2, 2]\n", "expected distinct positive step numbers"),
])
def test_bad_checkpoint_settings_stop_with_one_line(tmp_path, extra, says):
    with pytest.raises(IftkitError) as err:
        load_recipe(_recipe(tmp_path, "m", extra))
    assert says in str(err.value) and "\n" not in str(err.value)


def test_checkpoints_need_a_known_number_of_steps(tmp_path):
    path = _recipe(tmp_path, "m", "  checkpoints: [1]\n")
    with pytest.raises(IftkitError, match="needs training.max_steps"):
        load_recipe(path, ["--training.max_steps", "-1"])


def test_status_sees_a_checkpoint_being_scored_under_its_cells_lock(tmp_path):
    """A cell's extra points run under the cell's lock: status must not call them stopped while it is held."""
    import subprocess
    import sys

    state = SweepState(tmp_path)
    with state.hold(CELL):
        state.update(f"{CELL}-step=1", status="evaluating")
        # another process asks, as `iftkit sweep status` does (flock: a second process sees the lock)
        code = ("from iftkit.sweep.state import SweepState; import sys; s = SweepState(sys.argv[1]); "
                f"print(s.describe('{CELL}-step=1', '{CELL}')); print(s.describe('{CELL}-step=1'))")
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert out[0].startswith("evaluating on ") and "stopped" in out[1]
