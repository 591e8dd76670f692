"""`iftkit meta-eval --results RUN_DIR [--human FILE] [--out DIR] [--dynamics [PATH]]`."""

from pathlib import Path

from iftkit.core.errors import IftkitError


def add_arguments(p):
    p.add_argument("--results", help="eval --out dir, or a sweep dir holding several (every samples.jsonl under it)")
    p.add_argument(
        "--human", help="human judgments (JSONL/JSON/CSV/TSV/Parquet): single scores, pairwise preferences or LLMBar"
    )
    p.add_argument("--out", help="where to write meta_eval.{md,html,json} (default: RUN_DIR/meta_eval)")
    p.add_argument("--scorers", help="comma-separated scorer names (default: every scorer in the samples)")
    p.add_argument("--tfa-max-items", type=int, default=60, help="reference answers perturbed for TFA (default 60)")
    p.add_argument(
        "--judge-max-items",
        type=int,
        default=15,
        help="cap for judge scorers (each text is a model call): TFA items and gold-derived pairs (default 15)",
    )
    p.add_argument("--max-pairs", type=int, help="judge at most this many human pairs (default: all)")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    p.add_argument(
        "--dynamics",
        nargs="?",
        const="",
        metavar="PATH",
        help="also chart learning dynamics from a sweep dir or an (n,seed,task,scorer,mean) table "
        "(default PATH: --results)",
    )
    p.add_argument("--config", help="recipe whose tracking section configures W&B (default: built-in defaults)")
    p.add_argument("--no-wandb", action="store_true", help="do not log to W&B")


def run(args) -> int:
    from iftkit.meta.cli_flow import meta_eval_main

    if args.results is None and args.human is None and args.dynamics in (None, ""):
        raise IftkitError("give --results RUN_DIR, --human FILE or --dynamics PATH")
    if args.tfa_max_items < 1 or args.resamples < 10:
        raise IftkitError("--tfa-max-items must be >= 1 and --resamples >= 10")
    out = Path(args.out) if args.out else (Path(args.results) / "meta_eval" if args.results else Path("runs/meta_eval"))
    return meta_eval_main(args, out)
