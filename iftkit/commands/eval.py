"""`iftkit eval --config R --adapters A B --out DIR [--section.key value ...]`."""

ACCEPTS_OVERRIDES = True


def add_arguments(p):
    p.add_argument("--config", required=True, help="recipe YAML (its eval: section picks suites, scorers, judge)")
    p.add_argument("--adapters", nargs="*", default=[], metavar="PATH", help="adapter dirs written by train/sft.py")
    p.add_argument("--out", required=True, help="results dir (samples.jsonl, results.jsonl, results.parquet)")
    p.add_argument("--no-base", action="store_true", help="skip the base model")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args) -> int:
    from iftkit.config import load_recipe
    from iftkit.evaluation.evaluate import run_eval

    recipe = load_recipe(args.config, getattr(args, "overrides", None))
    result = run_eval(recipe, args.adapters, args.out, include_base=not args.no_base, progress=not args.no_progress)
    for line in result.lines():
        print(line)
    return 0
