"""sweep.adapter_scales on the tiny model: scaled points join a finished sweep without retraining
or re-evaluating the adapters as trained, and each lands in the results and the report."""

import json

from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import CHEAP, run_sweep, sweep_recipe

SCALED = "ratio=1.0-seed=0-adapter_scale=0.5"


def test_scales_added_to_a_finished_sweep_evaluate_only_the_new_points(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]", **CHEAP)
    root = tmp_path / "runs" / "tiny-sweep"
    run_sweep(recipe, tmp_path)
    [adapter] = root.glob("cells/*/adapter/adapter_model.safetensors")
    [as_trained] = root.glob("cells/*/eval-*/results.jsonl")
    before = adapter.stat().st_mtime_ns, as_trained.stat().st_mtime_ns

    out = run_sweep(recipe, tmp_path, "--sweep.adapter_scales", "[0.5, 1.0]").stdout
    assert "trained in" not in out and "[base]" not in out
    assert f"[{SCALED}] generations: " in out and "[ratio=1.0-seed=0] generations:" not in out
    assert (adapter.stat().st_mtime_ns, as_trained.stat().st_mtime_ns) == before
    record = SweepState(root).get(SCALED)
    assert record["status"] == "done" and record["adapter_scale"] == 0.5
    assert record["train_hash"] == SweepState(root).get("ratio=1.0-seed=0")["train_hash"]

    rows = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    assert {(r["cell"], r["adapter_scale"]) for r in rows} == {
        ("base", None),
        ("ratio=1.0-seed=0", 1.0),
        (SCALED, 0.5),
    }
    summary = json.loads((root / "report" / "summary.json").read_text())
    assert sorted((p["x"], p["adapter_scale"]) for p in summary["points"] if p["x"] != "base") == [
        (1.0, 0.5),
        (1.0, 1.0),
    ]
    status = run_sweep(recipe, tmp_path, "status", "--sweep.adapter_scales", "[0.5, 1.0]").stdout
    assert f"{SCALED}  done" in status

    again = run_sweep(recipe, tmp_path, "--sweep.adapter_scales", "[0.5, 1.0]").stdout
    assert "done earlier, skipped" in again and "generations:" not in again
