"""Run a sweep beyond one machine: a SLURM array script, or a W&B sweep config.

Both run one cell per job with `python -m iftkit sweep --config R --cell LABEL` (SLURM) or with the
cell's grid values as dotted overrides (W&B agent), on shared storage; `iftkit sweep collect`
then gathers every cell's results into the sweep report.
"""

import json
import shlex
import sys
from pathlib import Path

import yaml

from iftkit.sweep.grid import Cell


def slurm_script(cells: list[Cell], recipe_path: str, sweep_dir: Path, accelerate_config: str = None, python: str = None) -> str:
    python = python or "python"
    labels = " ".join(shlex.quote(c.label) for c in cells)
    launcher = ["--launcher", "accelerate"] + (["--accelerate-config", accelerate_config] if accelerate_config else [])
    cmd = " ".join(shlex.quote(p) for p in [python, "-m", "iftkit", "sweep", "--config", recipe_path, *launcher])
    return f"""#!/usr/bin/env bash
#SBATCH --job-name=iftkit-{sweep_dir.name}
#SBATCH --array=0-{len(cells) - 1}
#SBATCH --output={sweep_dir}/slurm/%A_%a.out
#SBATCH --gpus-per-task=1
#SBATCH --cpus-per-task=8
# One sweep cell per array task: train (accelerate launch -m iftkit train) then evaluate.
# Submit from the repository root: sbatch {sweep_dir}/sweep.slurm
# Gather the results afterwards: iftkit sweep collect --config {recipe_path}
set -euo pipefail
mkdir -p {shlex.quote(str(sweep_dir))}/slurm
CELLS=({labels})
TASK_ID="${{SLURM_ARRAY_TASK_ID:-0}}"
CELL="${{CELLS[$TASK_ID]}}"
echo "iftkit sweep cell $CELL (array task $TASK_ID)"
{cmd} --cell "$CELL"
"""


def wandb_sweep_config(cells: list[Cell], recipe_path: str, name: str, python: str = None) -> dict:
    """A W&B grid sweep whose parameters are the recipe's grid keys plus the seeds."""
    params: dict = {}
    for cell in cells:
        for key, value in cell.values.items():
            params.setdefault(key, [])
            if value not in params[key]:
                params[key].append(value)
    seeds = sorted({c.seed for c in cells})
    parameters = {k: {"values": v} for k, v in params.items()}
    parameters["sweep.seed"] = {"values": seeds}
    return {
        "name": f"iftkit-{name}",
        "method": "grid",
        "metric": {"name": "in_domain", "goal": "maximize"},
        "parameters": parameters,
        # ${args} expands to --key=value for every parameter: the cell's dotted overrides
        "command": [python or "${interpreter}", "-m", "iftkit", "sweep", "--config", recipe_path, "--one-cell", "${args}"],
    }


def write_emitted(kind: str, cells: list[Cell], recipe_path: str, sweep_dir: Path, accelerate_config: str = None) -> Path:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if kind == "slurm":
        path = sweep_dir / "sweep.slurm"
        path.write_text(slurm_script(cells, recipe_path, sweep_dir, accelerate_config))
        path.chmod(0o755)
        return path
    path = sweep_dir / "wandb_sweep.yaml"
    config = wandb_sweep_config(cells, recipe_path, sweep_dir.name)
    path.write_text(
        f"# Run: wandb sweep {path} && wandb agent <entity/project/sweep_id>\n" + yaml.safe_dump(config, sort_keys=False)
    )
    return path


def cell_from_args(cells: list[Cell], args: list[str]) -> Cell:
    """Pick the cell a W&B agent asked for (its --key=value args) from the expanded grid."""
    from iftkit.config.loader import parse_overrides
    from iftkit.errors import IftkitError

    wanted = parse_overrides(args)
    seed = wanted.get("sweep", {}).pop("seed", None)
    flat = {}
    for section, values in wanted.items():
        for key, value in (values or {}).items():
            flat[f"{section}.{key}"] = value
    for cell in cells:
        if all(cell.values.get(k) == v for k, v in flat.items()) and (seed is None or cell.seed == seed):
            return cell
    raise IftkitError(f"no sweep cell matches {json.dumps(flat)} seed={seed}; known cells: {', '.join(c.label for c in cells)}")


def python_executable() -> str:
    return sys.executable
