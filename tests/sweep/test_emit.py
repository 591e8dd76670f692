"""The SLURM job scripts' resource requests (`--emit slurm --gpus-per-task N --cpus-per-task N`)."""

import shlex
import subprocess
import sys
from pathlib import Path

from iftkit.sweep.emit import JobSpec, job_names, slurm_scripts
from iftkit.sweep.grid import Cell
from iftkit.testing.sweep_runs import env, run_sweep, sweep_recipe


def cells():
    return [
        Cell(label=f"ratio={r}-seed=0", values={}, seed=0, recipe=None, overrides=[], train_hash="h", eval_hash="e")
        for r in (0.0, 1.0)
    ]


def test_default_jobs_ask_for_one_gpu_and_eight_cpus_and_cpu_only_jobs_ask_for_no_gpu():
    default = slurm_scripts(cells(), "r.yaml", Path("/runs/s"))
    cpu = slurm_scripts(cells(), "r.yaml", Path("/runs/s"), JobSpec(gpus_per_task=0, cpus_per_task=1))
    for name in ("base.slurm", "sweep.slurm"):
        assert "#SBATCH --gpus-per-task=1\n#SBATCH --cpus-per-task=8\n" in default[name]
        assert "--gpus-per-task" not in cpu[name] and "#SBATCH --cpus-per-task=1\n" in cpu[name]
        # torch keeps to the CPUs the job was given
        assert 'export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$SLURM_CPUS_PER_TASK}"' in cpu[name]
    # the jobs run the interpreter that emitted them, not whatever `python` a node's PATH has
    assert f"{sys.executable} -m iftkit sweep --config r.yaml" in cpu["base.slurm"]
    assert "#SBATCH --job-name=iftkit-s-base" in cpu["base.slurm"] and job_names(Path("/runs/s")) == (
        "iftkit-s-base",
        "iftkit-s",
    )


def test_resource_options_without_emit_slurm_are_a_clear_error(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir)
    proc = run_sweep(recipe, tmp_path, "--gpus-per-task", "0", check=False)
    assert proc.returncode == 2 and "--gpus-per-task and --cpus-per-task go with --emit slurm" in proc.stderr
    proc = run_sweep(recipe, tmp_path, "--emit", "slurm", "--cpus-per-task", "0", check=False)
    assert proc.returncode == 2 and "--cpus-per-task 1 or more" in proc.stderr


def test_overrides_given_with_emit_reach_every_job(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 1.0]")
    grid = "{mix.target_ratio: [0.25]}"
    out = run_sweep(recipe, tmp_path, "--emit", "slurm", "--sweep.grid", grid).stdout
    assert "(1 cells)" in out
    root = tmp_path / "runs" / "tiny-sweep"
    array = (root / "sweep.slurm").read_text()
    assert "CELLS=(ratio=0.25-seed=0)" in array
    # what the array task runs, asked for the sweep's status instead: it sees the emitted grid
    line = next(x for x in array.splitlines() if x.startswith(f"{sys.executable} -m iftkit sweep"))
    cmd = shlex.split(line.replace('--cell "$CELL"', "status"))
    proc = subprocess.run(cmd, env=env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratio=0.25-seed=0  pending" in proc.stdout and "ratio=0.0" not in proc.stdout, proc.stdout
    assert f"--sweep.grid {shlex.quote(grid)}" in (root / "base.slurm").read_text()


def test_overrides_given_with_emit_wandb_reach_the_agents_command_and_pick_the_same_cell(tmp_path, tiny_model_dir):
    import yaml

    from iftkit.cli import build_parser
    from iftkit.commands.sweep import chosen_cells, recipe_and_cells
    from iftkit.config import load_recipe
    from iftkit.sweep.grid import expand
    from iftkit.testing.sweep_runs import wandb_agent_command

    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 1.0]")
    emitted = ["--sweep.grid", "{mix.target_ratio: [0.25, 0.5]}", "--training.max_steps", "3"]
    assert "(2 cells)" in run_sweep(recipe, tmp_path, "--emit", "wandb", *emitted).stdout
    config = yaml.safe_load((tmp_path / "runs" / "tiny-sweep" / "wandb_sweep.yaml").read_text())
    command = config["command"]
    assert command[command.index("--config") + 2:command.index("--one-cell")] == emitted
    assert config["parameters"]["mix.target_ratio"] == {"values": [0.25, 0.5]}
    # what `wandb agent` runs for the second grid point, parsed as the sweep command parses it
    argv = wandb_agent_command(config, 1)[3:]  # after `python -m iftkit`
    args, extra = build_parser(only="sweep").parse_known_args(argv)
    args.overrides = extra
    action, agent_recipe, _, cells, overrides, picks = recipe_and_cells(args)
    assert action == "run" and overrides == emitted and agent_recipe.training.max_steps == 3
    [cell] = chosen_cells(args, cells, picks)
    # the very cell the emitting command expanded: same label, same hashes (so the same folder)
    expected = {c.label: c for c in expand(load_recipe(recipe, emitted))}["ratio=0.5-seed=0"]
    assert (cell.label, cell.train_hash, cell.eval_hash) == (expected.label, expected.train_hash, expected.eval_hash)
