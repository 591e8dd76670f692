"""sweep.mixed_adapters on the tiny model: a cell's final adapter and kept checkpoints generate together over
one base model load, every point keeps its own eval dir, state record and answers (equal to scoring one
adapter at a time), and a resumed cell generates only what is missing."""

import json
import shutil
from pathlib import Path

from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import CHEAP, run_sweep, sweep_recipe

TRAINING = "{max_steps: 3, per_device_train_batch_size: 4, save_steps: 1, save_total_limit: 1, logging_steps: 1}"
CELL = "ratio=1.0-seed=0"
POINTS = (CELL, f"{CELL}-step=1", f"{CELL}-step=2")


def _sweep(tmp_path, model_dir, *extra):
    tmp_path.mkdir(parents=True, exist_ok=True)
    recipe = sweep_recipe(tmp_path, model_dir, grid="[1.0]", **dict(CHEAP, training=TRAINING))
    out = run_sweep(recipe, tmp_path, "--sweep.checkpoints", "[1, 2, 3]", *extra).stdout
    return recipe, tmp_path / "runs" / "tiny-sweep", out


def _answers(root, label) -> dict:
    samples = Path(SweepState(root).get(label)["eval_dir"]) / "samples.jsonl"
    recs = [json.loads(line) for line in samples.read_text().splitlines()]
    return {(r["suite"], r["sample_id"]): r["prediction"] for r in recs if r["model"] != "base"}


def _generation_lines(out: str) -> dict:
    """{point label: its eval's 'generations: ...' line} from a sweep's stdout."""
    return dict(line[1:].split("] ", 1) for line in out.splitlines() if "] generations:" in line)


def test_a_cells_adapters_generate_together_with_the_answers_of_one_at_a_time(tmp_path, tiny_model_dir):
    _, root, out = _sweep(tmp_path / "mixed", tiny_model_dir)
    assert f"[{CELL}] 3 adapters generated " in out and "over 1 base model load(s)" in out
    lines = _generation_lines(out)
    assert all(lines[p].startswith("generations: 0 new, ") for p in POINTS), lines  # every point read the cache
    _, alone_root, alone_out = _sweep(tmp_path / "alone", tiny_model_dir, "--sweep.mixed_adapters", "false")
    assert "generated " not in alone_out and "generations: 0 new" not in _generation_lines(alone_out)[CELL]
    adapter, alone_adapter = (next(r.glob("cells/*/adapter")) for r in (root, alone_root))
    assert (adapter / "adapter_model.safetensors").read_bytes() == (
        alone_adapter / "adapter_model.safetensors").read_bytes()  # the same training: the answers must agree
    for p in POINTS:
        assert _answers(root, p) == _answers(alone_root, p) and _answers(root, p)
        assert SweepState(root).get(p)["status"] == "done" and SweepState(root).get(p)["seconds"] > 0


def test_a_resumed_cell_generates_only_its_missing_points_together(tmp_path, tiny_model_dir):
    recipe, root, _ = _sweep(tmp_path, tiny_model_dir)
    before = {p: _answers(root, p) for p in POINTS}
    state = SweepState(root)
    for p in POINTS[1:]:  # the two kept checkpoints were lost, and the cache with them
        shutil.rmtree(state.get(p)["eval_dir"])
        state.record_path(p).unlink()
    (tmp_path / "cache" / "eval" / "generations.sqlite").unlink()
    out = run_sweep(recipe, tmp_path, "--sweep.checkpoints", "[1, 2, 3]").stdout
    assert f"[{CELL}] 2 adapters generated " in out  # the final adapter, done, is not asked again
    lines = _generation_lines(out)
    assert set(lines) == set(POINTS[1:]) and all(lines[p].startswith("generations: 0 new, ") for p in POINTS[1:])
    assert {p: _answers(root, p) for p in POINTS} == before
