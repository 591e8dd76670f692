"""`iftkit pipeline --config R --out DIR [--section.key value ...]`: one sweep cell, stage by stage.

The recipe as given (its one ratio and seed) goes through iftkit/sweep/pipeline.py: the mix is built,
an adapter trained on it, the base model and the adapter evaluated and scored, and a report written,
all under DIR. Rerun the same command to resume: the mix, a complete adapter and cached answers are reused.
"""

ACCEPTS_OVERRIDES = True


def add_arguments(p):
    p.add_argument("--config", required=True, help="recipe YAML (one ratio, one seed)")
    p.add_argument("--out", required=True, help="folder for the mix, adapter, eval and report")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def run(args) -> int:
    from pathlib import Path

    from iftkit.config import load_recipe
    from iftkit.sweep.pipeline import run_one_cell

    files = run_one_cell(load_recipe(args.config, args.overrides), Path(args.out),
                         say=lambda msg: print(f"[iftkit] {msg}", flush=True), progress=args.progress)
    print(f"report: {files.html}")
    return 0
