"""Evaluate the base model and adapters (= `iftkit eval`, same flags).

    python eval/run.py --config R --adapters A B --out DIR [--eval.judge.backend openai ...]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from iftkit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]], prog="eval/run.py"))
