"""Scorer meta-evaluation (CIT/CAT/TFA) and learning dynamics (= `iftkit meta-eval`, same flags).

    python eval/meta.py --results RUN_DIR [--human FILE] [--out DIR] [--dynamics [PATH]]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from iftkit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["meta-eval", *sys.argv[1:]], prog="eval/meta.py"))
