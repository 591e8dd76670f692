"""`iftkit meta-eval --results RUN_DIR [--human FILE] [--out DIR] [--dynamics [PATH]]` (also eval/meta.py)."""

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
    # imported here, not at the top: scipy and matplotlib would slow `iftkit meta-eval --help`
    from iftkit.config import load_recipe
    from iftkit.meta.learning_dynamics import analyse_dynamics
    from iftkit.meta.meta_eval import MetaEvalOptions, add_sections, record_judge_trust, run_meta_eval

    if args.results is None and args.human is None and args.dynamics in (None, ""):
        raise IftkitError("give --results RUN_DIR, --human FILE or --dynamics PATH")
    if args.tfa_max_items < 1 or args.resamples < 10:
        raise IftkitError("--tfa-max-items must be >= 1 and --resamples >= 10")
    out = Path(args.out) if args.out else (Path(args.results) / "meta_eval" if args.results else Path("runs/meta_eval"))
    images, dyn_lines = [], []
    dyn_path = args.dynamics if args.dynamics else (args.results if args.dynamics == "" else None)
    if dyn_path:
        dyn = analyse_dynamics(dyn_path, out)
        for line in dyn.lines:
            print(f"dynamics: {line}")
        print(f"dynamics: chart {dyn.chart}")
        images, dyn_lines = [dyn.chart], dyn.lines
    if not (args.results or args.human):
        return 0
    recipe = load_recipe(args.config) if args.config else None
    opts = MetaEvalOptions(
        scorers=[s.strip() for s in args.scorers.split(",") if s.strip()] if args.scorers else None,
        tfa_max_items=args.tfa_max_items,
        resamples=args.resamples,
        recipe=recipe,
        judge_max_items=args.judge_max_items,
        max_pairs=args.max_pairs,
    )
    payload = run_meta_eval(args.results, args.human, out, opts)
    trust_lines = record_judge_trust(payload, recipe, args.human)
    md, html_text = add_sections(out, payload["markdown"], {"Judge trust": trust_lines,
                                                            "Learning dynamics": dyn_lines}, images)
    print(md)
    if not args.no_wandb:
        from iftkit.meta.wandb_log import log_meta_eval  # wandb is slow to import; only when logging

        print(log_meta_eval(payload, recipe, images, html_text))
    for line in trust_lines:
        print(line)
    print(f"meta-eval: wrote {out / 'meta_eval.md'}, {out / 'meta_eval.html'}, {out / 'meta_eval.json'}")
    return 0
