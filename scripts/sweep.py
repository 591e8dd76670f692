"""Run a sweep: `python scripts/sweep.py --config recipes/sweeps/quickstart.yaml` (= `iftkit sweep`).

See `iftkit sweep --help` for --cell, --emit slurm|wandb, --launcher and `collect`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from iftkit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["sweep", *sys.argv[1:]]))
