"""Run a sweep (= `iftkit sweep`, same flags).

    python scripts/sweep.py --config recipes/sweeps/quickstart.yaml [--cell L] [--emit slurm|wandb] [collect]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from iftkit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["sweep", *sys.argv[1:]], prog="scripts/sweep.py"))
