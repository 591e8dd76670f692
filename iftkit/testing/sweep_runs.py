"""What the sweep tests share: a tiny sweep recipe, the environment its processes run in, and the
commands a user, a SLURM array task or a W&B agent would run."""

import json
import os
import subprocess
import sys
from pathlib import Path

# the checkout the tests run from (sweeps run its scripts/sweep.py)
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sweep.py"
BASE_EVAL_LINE = "[base] evaluating the base model"

TRAINING = "{max_steps: 4, per_device_train_batch_size: 4, save_steps: 2, logging_steps: 1}"
EVAL = "{scorers: [task_strict, task_tolerant, exact_match, rougeL], max_new_tokens: 6, instruction_set: none}"
# the cheapest sweep that still trains and scores for real: 2 steps, 2 test rows per task, one scorer
CHEAP = dict(
    training="{max_steps: 2, per_device_train_batch_size: 4, save_steps: 1, logging_steps: 1}",
    eval="{scorers: [task_tolerant], max_new_tokens: 4, instruction_set: none}",
    general_tasks="[topic, arithmetic]",
    test_size_per_task=2,
    tracking="{mode: disabled}",
)


# the recipe sections sweep_recipe fills in, each replaceable by a keyword of the same name (CHEAP replaces them all)
SECTIONS = dict(training=TRAINING, eval=EVAL, general_tasks="[topic, arithmetic, change_case]", test_size_per_task=4,
                tracking="{}")


def sweep_recipe(tmp_path, model_dir, grid="[0.0, 1.0]", seeds="[0]", **sections):
    """A tiny sweep recipe over mix.target_ratio in `grid`; `sections` replace SECTIONS' YAML snippets."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise TypeError(f"sweep_recipe: unknown sections {sorted(unknown)} (known: {sorted(SECTIONS)})")
    sec = {**SECTIONS, **sections}
    training, eval, tracking = sec["training"], sec["eval"], sec["tracking"]
    general_tasks, test_size_per_task = sec["general_tasks"], sec["test_size_per_task"]
    text = f"""
include: {ROOT / "recipes" / "quickstart.yaml"}
name: tiny-sweep
model: {{id: {model_dir}}}
data: {{samples_per_task: 60, general_tasks: {general_tasks}}}
mix: {{target_ratio: 0.5, total_size: 32, val_size: 4, test_size_per_task: {test_size_per_task}}}
training: {training}
eval: {eval}
tracking: {tracking}
sweep:
  grid: {{mix.target_ratio: {grid}}}
  seeds: {seeds}
  out_dir: {tmp_path / "runs"}
"""
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def env(tmp_path, **extra):
    env = {
        **os.environ,
        "IFTKIT_CACHE": str(tmp_path / "cache"),
        "WANDB_MODE": "offline",
        "HF_HUB_OFFLINE": "1",
        **extra,
    }
    env.pop("WANDB_SERVICE", None)  # never share the pytest process's W&B service with a sweep we kill
    return env


def sweep_command(recipe, *extra) -> list:
    return [sys.executable, str(SCRIPT), "--config", str(recipe), "--no-progress", *extra]


def run_sweep(recipe, tmp_path, *extra, check=True):
    proc = subprocess.run(
        sweep_command(recipe, *extra), env=env(tmp_path), capture_output=True, text=True, timeout=1200
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def wandb_agent_command(config: dict, index: int) -> list:
    """What `wandb agent` runs for grid point `index` of an emitted W&B sweep config (one value list per key)."""
    args = []
    for key, spec in config["parameters"].items():
        values = spec["values"]
        args.append(f"--{key}={values[index % len(values)]}")
        index //= len(values)
    cmd = [sys.executable if c == "${interpreter}" else c for c in config["command"] if c != "${args}"]
    return cmd + ["--no-progress", *args]


def assert_complete(root, labels, outputs):
    """Every cell done, the base model evaluated once (across the processes' outputs), and one result
    row per cell x model x suite x task x scorer: none lost, none twice."""
    from iftkit.sweep.state import SweepState

    state = SweepState(root)
    assert {label: state.get(label).get("status") for label in labels} == {label: "done" for label in labels}
    assert sum(out.count(BASE_EVAL_LINE) for out in outputs) == 1, "the base model was evaluated more than once"
    rows = [json.loads(line) for line in (Path(root) / "results.jsonl").read_text().splitlines()]
    keys = [(r["cell"], r["model"], r["suite"], r["task"], r["scorer"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate result rows"
    per_cell = {cell: sum(1 for k in keys if k[0] == cell) for cell in ["base", *labels]}
    assert set(per_cell) == {r["cell"] for r in rows}
    assert len(set(per_cell.values())) == 1 and per_cell["base"] > 0, f"missing result rows: {per_cell}"
