"""Scorer meta-evaluation (CIT/CAT/TFA) and learning dynamics (= `iftkit meta-eval`, same flags).

    python eval/meta.py --results RUN_DIR [--human FILE] [--out DIR] [--dynamics [PATH]]

The steps are in iftkit/commands/meta_eval.py (run): learning dynamics from a sweep, then
iftkit.meta.meta_eval.run_meta_eval (each scorer against gold and human judgments), the judge-trust
record, and the report (meta_eval.md / .html / .json) with its W&B run.
"""

import sys

try:
    from iftkit.cli import main
except ModuleNotFoundError as exc:
    if exc.name != "iftkit":
        raise
    sys.exit("eval/meta.py: error: iftkit is not installed; run `pip install -e .` in the repository root")

if __name__ == "__main__":
    sys.exit(main(["meta-eval", *sys.argv[1:]], prog="eval/meta.py"))
