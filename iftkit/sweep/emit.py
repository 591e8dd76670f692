"""Run a sweep beyond one machine: SLURM job scripts, or a W&B sweep config.

SLURM: `submit.sh` submits `base.slurm` (the base-model evaluation, once) and then
`sweep.slurm`, an array of one cell per task (`python -m iftkit sweep --config R --cell LABEL`)
that starts only after the base job succeeded (`--dependency=afterok`). W&B: each agent runs
one cell from its grid values as dotted overrides; the first agent evaluates the base model
while the others wait on its lock. Everything lives on shared storage; `iftkit sweep collect`
then gathers every cell's results into the sweep report.
"""

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import yaml

from iftkit.config.loader import override_pairs, parse_overrides
from iftkit.core.errors import IftkitError
from iftkit.sweep.grid import Cell

SLURM_FILES = ("submit.sh", "base.slurm", "sweep.slurm")
SEED_KEY = "sweep.seed"  # the W&B parameter that picks a cell's seed
GPUS_PER_TASK = 1
CPUS_PER_TASK = 8


def job_names(sweep_dir: Path) -> tuple[str, str]:
    """SLURM job names of (the base-model job, the cell array); `iftkit sweep status` finds the jobs by them."""
    name = f"iftkit-{Path(sweep_dir).name}"
    return f"{name}-base", name


def _header(job_name: str, output: str, gpus: int, cpus: int, extra: str = "") -> str:
    # no --gpus-per-task line at all for 0: SLURM rejects a GPU request on nodes without GPUs
    gpu_line = f"#SBATCH --gpus-per-task={gpus}\n" if gpus else ""
    return f"""#!/usr/bin/env bash
#SBATCH --job-name={job_name}
#SBATCH --output={output}
{gpu_line}#SBATCH --cpus-per-task={cpus}
{extra}# Put IFTKIT_CACHE on storage every node sees so all tasks share one generation/judge cache and
# one converted model, e.g. `export IFTKIT_CACHE=/shared/$USER/iftkit-cache` before submitting
# (sbatch passes your environment on); see docs/cluster.md.
set -euo pipefail
# torch would start one thread per core of the node, not one per CPU this task was given
if [[ -n "${{SLURM_CPUS_PER_TASK:-}}" ]]; then export OMP_NUM_THREADS="${{OMP_NUM_THREADS:-$SLURM_CPUS_PER_TASK}}"; fi
"""


def _quoted(parts) -> str:
    return " ".join(shlex.quote(str(p)) for p in parts)


@dataclass
class JobSpec:
    """What every emitted job runs with."""

    accelerate_config: Optional[str] = None
    # the interpreter that emitted the scripts (the venv's: on a cluster, on storage every node
    # sees); a bare `python` is whatever the node's PATH has, often none or one without iftkit
    python: Optional[str] = None
    gpus_per_task: int = GPUS_PER_TASK
    cpus_per_task: int = CPUS_PER_TASK
    # dotted --key value args given with --emit: without them a job would expand another grid, into
    # other cells, than the one emitted
    overrides: Sequence = ()


def slurm_scripts(
    cells: list[Cell], recipe_path: str, sweep_dir: Path, job: Optional[JobSpec] = None
) -> dict[str, str]:
    """{file name: text} of the submit script, the base-evaluation job and the cell array job; `job.overrides` go
    into every job's command."""
    job = job or JobSpec()
    sweep = [job.python or sys.executable, "-m", "iftkit", "sweep", "--config", recipe_path, *job.overrides,
             "--no-progress"]
    launcher = ["--launcher", "accelerate"] + (["--accelerate-config", job.accelerate_config]
                                              if job.accelerate_config else [])
    logs = sweep_dir / "slurm"
    base_name, name = job_names(sweep_dir)
    base = (
        _header(base_name, f"{logs}/base_%j.out", job.gpus_per_task, job.cpus_per_task)
        + f"""# The base model's evaluation, once for the whole sweep; submit.sh starts the cell array after it.
{_quoted(sweep)} --base-only
"""
    )
    labels = " ".join(shlex.quote(c.label) for c in cells)
    array = (
        _header(name, f"{logs}/%A_%a.out", job.gpus_per_task, job.cpus_per_task,
                f"#SBATCH --array=0-{len(cells) - 1}\n")
        + f"""# One sweep cell per array task: train (accelerate launch -m iftkit train) then evaluate.
# A failed or killed task is resubmitted alone with: sbatch --array=<task id> {sweep_dir}/sweep.slurm
CELLS=({labels})
TASK_ID="${{SLURM_ARRAY_TASK_ID:-0}}"
CELL="${{CELLS[$TASK_ID]}}"
echo "iftkit sweep cell $CELL (array task $TASK_ID)"
{_quoted(sweep + launcher)} --cell "$CELL"
"""
    )
    d = shlex.quote(str(sweep_dir))
    submit = f"""#!/usr/bin/env bash
# Submit the sweep from the directory the recipe path is relative to (the repository root):
#   bash {sweep_dir}/submit.sh
# The base model is evaluated once (base.slurm); the array of {len(cells)} cells (sweep.slurm) starts
# only after that job succeeded, and is cancelled if it fails. Watch: squeue --me;
# iftkit sweep status --config {recipe_path}. Gather: iftkit sweep collect --config {recipe_path}
set -euo pipefail
mkdir -p {shlex.quote(str(logs))}
base_job=$(sbatch --parsable {d}/base.slurm)
base_job=${{base_job%%;*}}  # --parsable prints "jobid[;cluster]"
echo "base-model evaluation: job $base_job"
sbatch --dependency=afterok:"$base_job" --kill-on-invalid-dep=yes {d}/sweep.slurm
"""
    return {"submit.sh": submit, "base.slurm": base, "sweep.slurm": array}


def wandb_sweep_config(cells: list[Cell], recipe_path: str, name: str, python: str = None, overrides=()) -> dict:
    """A W&B grid sweep whose parameters are the recipe's grid keys plus the seeds. `overrides` (given with
    --emit) go into the command before --one-cell, as into every SLURM job's: an agent without them would
    expand another grid (or other cells) than the one emitted; `agent_arguments` tells them from the cell's."""
    params: dict = {}
    for cell in cells:
        for key, value in cell.values.items():
            params.setdefault(key, [])
            if value not in params[key]:
                params[key].append(value)
    seeds = sorted({c.seed for c in cells})
    parameters = {k: {"values": v} for k, v in params.items()}
    parameters[SEED_KEY] = {"values": seeds}
    return {
        "name": f"iftkit-{name}",
        "method": "grid",
        "metric": {"name": "in_domain", "goal": "maximize"},
        "parameters": parameters,
        # ${args} expands to --key=value for every parameter: the cell's dotted overrides
        "command": [
            python or "${interpreter}",
            "-m",
            "iftkit",
            "sweep",
            "--config",
            recipe_path,
            *overrides,
            "--one-cell",
            "${args}",
        ],
    }


def write_emitted(
    kind: str, cells: list[Cell], recipe_path: str, sweep_dir: Path, job: Optional[JobSpec] = None
) -> Path:
    """Write the SLURM scripts (returns submit.sh) or the W&B sweep config (returns it)."""
    job = job or JobSpec()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if kind == "slurm":
        # SLURM opens a job's --output file before the script runs: the folder must exist already
        (sweep_dir / "slurm").mkdir(exist_ok=True)
        for name, text in slurm_scripts(cells, recipe_path, sweep_dir, job).items():
            (sweep_dir / name).write_text(text)
            (sweep_dir / name).chmod(0o755)
        return sweep_dir / SLURM_FILES[0]
    path = sweep_dir / "wandb_sweep.yaml"
    config = wandb_sweep_config(cells, recipe_path, sweep_dir.name, overrides=list(job.overrides))
    path.write_text(
        f"# Run: wandb sweep {path} && wandb agent <entity/project/sweep_id>\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return path


def agent_arguments(args: list[str], grid_of: Callable[[list[str]], dict]) -> tuple[list[str], list[str]]:
    """(recipe overrides, cell values) among the dotted arguments of an agent's command: W&B gives every grid
    key and sweep.seed (${args}); the rest are the overrides emitted with the command. grid_of(overrides): the
    sweep.grid of the recipe with those overrides; the cell's own values leave the grid's keys as they are."""
    pairs = override_pairs(args)
    grid = grid_of([a for key, taken, _ in pairs if key != SEED_KEY for a in taken])
    picks = [(key in grid or key == SEED_KEY) for key, _, _ in pairs]
    overrides = [a for (_, taken, _), pick in zip(pairs, picks) if not pick for a in taken]
    values = [a for (_, taken, _), pick in zip(pairs, picks) if pick for a in taken]
    return overrides, values


def cell_from_args(cells: list[Cell], args: list[str]) -> Cell:
    """Pick the cell a W&B agent asked for (its --key=value args) from the expanded grid."""
    wanted = parse_overrides(args)
    seed = wanted.get("sweep", {}).pop("seed", None)
    flat = {}
    for section, values in wanted.items():
        for key, value in (values or {}).items():
            flat[f"{section}.{key}"] = value
    for cell in cells:
        if all(cell.values.get(k) == v for k, v in flat.items()) and (seed is None or cell.seed == seed):
            return cell
    raise IftkitError(
        f"no sweep cell matches {json.dumps(flat)} seed={seed}; known cells: {', '.join(c.label for c in cells)}"
    )

