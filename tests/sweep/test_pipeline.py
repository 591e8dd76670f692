"""`iftkit pipeline`: one cell through every stage gives what the sweep gives for that cell."""

import json
import subprocess
import sys

import pytest

from iftkit.testing.sweep_runs import ROOT, env, run_sweep, sweep_recipe


def _scores(rows, cell):
    return {(r["suite"], r["task"], r["scorer"]): (r["mean"], r["n"]) for r in rows if r["cell"] == cell}


@pytest.mark.slow
def test_one_cell_pipeline_matches_the_sweeps_cell(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.5]")
    run_sweep(recipe, tmp_path)
    swept = [json.loads(line) for line in (tmp_path / "runs" / "tiny-sweep" / "results.jsonl").read_text().splitlines()]

    out = tmp_path / "one-cell"
    cmd = [sys.executable, "-m", "iftkit", "pipeline", "--config", str(recipe), "--out", str(out),
           "--no-progress", "--mix.target_ratio", "0.5", "--training.seed", "0", "--mix.seed", "0"]
    proc = subprocess.run(cmd, env=env(tmp_path), capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"report: {out / 'report'}" in proc.stdout
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert (out / "report" / "tradeoff.png").stat().st_size > 0

    cell = "ratio=0.5-seed=0"
    adapter_rows = [dict(r, cell=cell) for r in _read(out / "eval") if r["model"] != "base"]
    base_rows = [dict(r, cell="base") for r in _read(out / "eval") if r["model"] == "base"]
    assert _scores(adapter_rows, cell) == _scores(swept, cell)
    assert _scores(base_rows, "base") == _scores(swept, "base")
    # the same training: the adapter's weights are byte-identical to the sweep cell's
    cells = tmp_path / "runs" / "tiny-sweep" / "cells"
    trained = next(cells.glob("ratio=0.5-seed=0*/adapter/adapter_model.safetensors"))
    assert (out / "adapter" / "adapter_model.safetensors").read_bytes() == trained.read_bytes()
    assert [p["x"] for p in summary["points"]] == ["base", 0.5]

    again = subprocess.run(cmd, env=env(tmp_path), capture_output=True, text=True, timeout=1200)
    assert again.returncode == 0 and "adapter already complete" in again.stdout  # a rerun trains nothing


def _read(folder):
    return [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]


def test_a_bad_recipe_key_is_one_line(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("include: nowhere.yaml\n")
    proc = subprocess.run([sys.executable, "-m", "iftkit", "pipeline", "--config", str(bad), "--out", str(tmp_path)],
                          env=env(tmp_path), capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "nowhere.yaml" in proc.stderr


def test_a_misnamed_backend_fails_before_anything_is_built(tmp_path):
    out = tmp_path / "one-cell"
    recipe = ROOT / "recipes" / "quickstart.yaml"
    proc = subprocess.run([sys.executable, "-m", "iftkit", "pipeline", "--config", str(recipe),
                           "--out", str(out), "--eval.judge.backend", "openia"],
                          env=env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "eval.judge.backend" in proc.stderr and "openia" in proc.stderr
    assert not out.exists()  # no mix, no adapter: nothing trained on the way to the error


def test_the_pipelines_cell_is_the_sweeps_cell_of_the_same_seed():
    """`--training.seed 1` draws the mix with seed 1 too, as the sweep's seed-1 cell does (it drew mix seed 0)."""
    from iftkit.config import load_recipe
    from iftkit.sweep.grid import expand
    from iftkit.sweep.pipeline import pipeline_cell

    sweep = ROOT / "recipes" / "sweeps" / "quickstart.yaml"
    cell, x_key = pipeline_cell(load_recipe(sweep, ["--training.seed", "1"]))
    twin = next(c for c in expand(load_recipe(sweep)) if c.label == "ratio=0.5-seed=1")
    assert (cell.label, cell.recipe.mix.seed, x_key) == ("ratio=0.5-seed=1", 1, "mix.target_ratio")
    assert (cell.train_hash, cell.eval_hash) == (twin.train_hash, twin.eval_hash)
