"""Run a sweep (= `iftkit sweep`, same flags).

    python scripts/sweep.py --config recipes/sweeps/quickstart.yaml [--cell L] [--emit slurm|wandb] [collect]

Each cell trains like train/sft.py and evaluates like eval/run.py (iftkit/sweep/runner.py); the
results are collected (iftkit/sweep/collect.py) into the tradeoff chart and report.
"""

import sys

try:
    from iftkit.cli import main
except ModuleNotFoundError as exc:
    if exc.name != "iftkit":
        raise
    sys.exit("scripts/sweep.py: error: iftkit is not installed; run `pip install -e .` in the repository root")

if __name__ == "__main__":
    sys.exit(main(["sweep", *sys.argv[1:]], prog="scripts/sweep.py"))
