"""End-to-end sweeps on the tiny model: resumable after kill -9, no duplicate rows, emitters."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sweep.py"


def sweep_recipe(tmp_path, model_dir, grid="[0.0, 1.0]"):
    text = f"""
include: {ROOT / 'recipes' / 'quickstart.yaml'}
name: tiny-sweep
model: {{id: {model_dir}}}
data: {{samples_per_task: 60, general_tasks: [topic, arithmetic, change_case]}}
mix: {{target_ratio: 0.5, total_size: 32, val_size: 4, test_size_per_task: 4}}
training: {{max_steps: 4, per_device_train_batch_size: 4, save_steps: 2, logging_steps: 1}}
eval: {{scorers: [task_strict, task_tolerant, exact_match, rougeL], max_new_tokens: 6, instruction_set: none}}
sweep:
  grid: {{mix.target_ratio: {grid}}}
  seeds: [0]
  out_dir: {tmp_path / 'runs'}
"""
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def env(tmp_path):
    env = {**os.environ, "IFTKIT_CACHE": str(tmp_path / "cache"), "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    env.pop("WANDB_SERVICE", None)  # never share the pytest process's W&B service with a sweep we kill
    return env


def run_sweep(recipe, tmp_path, *extra, check=True):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--config", str(recipe), "--no-progress", *extra],
                          env=env(tmp_path), capture_output=True, text=True, timeout=1200)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def adapter_mtimes(root):
    return {p.parent.parent.name: p.stat().st_mtime_ns for p in root.glob("cells/*/adapter/adapter_model.safetensors")}


@pytest.mark.slow
def test_killed_sweep_resumes_without_retraining_or_duplicates(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir)
    root = tmp_path / "runs" / "tiny-sweep"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--config", str(recipe), "--no-progress"],
                            env=env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # kill -9 once the first cell's adapter exists and the second cell has started
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        state = root / "sweep_state.json"
        if state.is_file():
            cells = json.loads(state.read_text())["cells"]
            if cells.get("ratio=0.0-seed=0", {}).get("status") == "done" and "ratio=1.0-seed=0" in cells:
                break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = adapter_mtimes(root)
    assert "ratio=0.0-seed=0__" in "".join(first)

    out = run_sweep(recipe, tmp_path).stdout
    assert "[ratio=0.0-seed=0] done earlier, skipped" in out
    after = adapter_mtimes(root)
    for name, mtime in first.items():
        if name.startswith("ratio=0.0"):
            assert after[name] == mtime, "a finished cell was retrained"
    assert len(after) == 2

    rows = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    keys = [(r["cell"], r["suite"], r["task"], r["scorer"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert {r["cell"] for r in rows} == {"base", "ratio=0.0-seed=0", "ratio=1.0-seed=0"}
    for cell in ("base", "ratio=0.0-seed=0", "ratio=1.0-seed=0"):
        assert {(r["suite"], r["scorer"]) for r in rows if r["cell"] == cell and r["task"] == "__all__"} >= {
            ("in_domain", "task_tolerant"), ("general", "task_tolerant")}
    report = root / "report"
    assert (report / "report.html").is_file() and (report / "tradeoff.png").stat().st_size > 10_000
    assert list((root / "wandb").glob("wandb/offline-run-*"))

    # a third run does nothing but re-collect
    again = run_sweep(recipe, tmp_path).stdout
    assert again.count("done earlier, skipped") == 2
    assert "trained in" not in again and "generations:" not in again  # nothing trained, nothing generated


def test_emit_slurm_passes_shellcheck_and_runs_a_cell(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0]")
    out = run_sweep(recipe, tmp_path, "--emit", "slurm").stdout
    script = tmp_path / "runs" / "tiny-sweep" / "sweep.slurm"
    assert f"wrote {script} (1 cells)" in out
    text = script.read_text()
    assert "#SBATCH --array=0-0" in text and "--cell" in text
    shellcheck = Path(sys.executable).parent / "shellcheck"
    lint = subprocess.run([str(shellcheck), str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    # run the array task locally (task 0), in-process launcher so no accelerate config is needed
    local = text.replace("--launcher accelerate", "--launcher inprocess").replace("python -m iftkit", f"{sys.executable} -m iftkit")
    script.write_text(local)
    proc = subprocess.run(["bash", str(script)], cwd=ROOT, env={**env(tmp_path), "SLURM_ARRAY_TASK_ID": "0"},
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert list((tmp_path / "runs" / "tiny-sweep" / "cells").glob("ratio=0.0-seed=0__*/eval-*/results.jsonl"))
    collected = run_sweep(recipe, tmp_path, "collect").stdout
    assert "report:" in collected


def test_emit_wandb_config_is_valid_and_its_command_runs_a_cell(tmp_path, tiny_model_dir):
    sweeps_config = pytest.importorskip("sweeps.config", reason="the `sweeps` package (W&B sweep schema) is installed by make setup")
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 1.0]")
    run_sweep(recipe, tmp_path, "--emit", "wandb")
    path = tmp_path / "runs" / "tiny-sweep" / "wandb_sweep.yaml"
    config = yaml.safe_load(path.read_text())
    assert sweeps_config.schema_violations_from_proposed_config(config) == []
    assert config["parameters"]["mix.target_ratio"] == {"values": [0.0, 1.0]}
    # what `wandb agent` would run for the first grid point
    args = [f"--{k}={v['values'][0]}" for k, v in config["parameters"].items()]
    cmd = [sys.executable if c == "${interpreter}" else c for c in config["command"] if c != "${args}"]
    cmd = [str(ROOT / config["program"]) if c == "${program}" else c for c in cmd] + ["--no-progress", *args]
    proc = subprocess.run(cmd, env=env(tmp_path), capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 of 2 cells" in proc.stdout
    assert list((tmp_path / "runs" / "tiny-sweep" / "cells").glob("ratio=0.0-seed=0__*/eval-*/results.jsonl"))


def test_unknown_cell_and_empty_grid_are_clear_errors(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir)
    proc = run_sweep(recipe, tmp_path, "--cell", "nope", check=False)
    assert proc.returncode == 2 and "--cell 'nope' is not in this sweep" in proc.stderr
    empty = tmp_path / "empty.yaml"
    empty.write_text(f"include: {ROOT / 'recipes' / 'quickstart.yaml'}\n")
    proc = run_sweep(empty, tmp_path, check=False)
    assert proc.returncode == 2 and "sweep.grid' is empty" in proc.stderr


@pytest.mark.slow
def test_accelerate_launcher_trains_a_cell_through_the_installed_package(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[1.0]")
    config = tmp_path / "accelerate_cpu.yaml"
    config.write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: 'NO'\nnum_processes: 1\nnum_machines: 1\n"
                      "machine_rank: 0\nmixed_precision: 'no'\nuse_cpu: true\n")
    # run from another directory: the launcher must not need the checkout's train/sft.py
    proc = subprocess.run([sys.executable, "-m", "iftkit", "sweep", "--config", str(recipe), "--no-progress",
                           "--launcher", "accelerate", "--accelerate-config", str(config)],
                          env=env(tmp_path), capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    card = json.loads(next((tmp_path / "runs" / "tiny-sweep" / "cells").glob("*/adapter/adapter_card.json")).read_text())
    assert card["status"] == "complete"
