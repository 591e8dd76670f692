"""What `iftkit meta-eval` / `python eval/meta.py` do with their flags (shared by both)."""

import json
from pathlib import Path

from iftkit.core.atomic import write_text_atomic
from iftkit.core.errors import IftkitError


def meta_eval_main(args, out: Path) -> int:
    from iftkit.meta import findings
    from iftkit.meta.meta_eval import run_meta_eval

    images = []
    dyn_lines = []
    dyn_path = args.dynamics if args.dynamics else (args.results if args.dynamics == "" else None)
    if dyn_path:
        images, dyn_lines = dynamics_main(dyn_path, out)
    payload = None
    if args.results or args.human:
        scorers = [s.strip() for s in args.scorers.split(",") if s.strip()] if args.scorers else None
        from iftkit.config import load_recipe

        recipe = load_recipe(args.config) if args.config else None
        payload = run_meta_eval(
            args.results,
            args.human,
            out,
            scorers=scorers,
            tfa_max_items=args.tfa_max_items,
            resamples=args.resamples,
            recipe=recipe,
            judge_max_items=args.judge_max_items,
            max_pairs=args.max_pairs,
        )
        trust_lines = _record_judge_trust(payload, recipe, args.human)
        md = payload["markdown"]
        if trust_lines:
            md += "\n## Judge trust\n\n" + "\n".join(f"- {line}" for line in trust_lines) + "\n"
            write_text_atomic(out / "meta_eval.md", md)
        if dyn_lines:
            md += "\n## Learning dynamics\n\n" + "\n".join(f"- {line}" for line in dyn_lines) + "\n"
            write_text_atomic(out / "meta_eval.md", md)
        html_text = findings.html_page(md, images)
        write_text_atomic(out / "meta_eval.html", html_text)
        print(md)
        if not args.no_wandb:
            from iftkit.meta.wandb_log import log_meta_eval

            print(log_meta_eval(payload, recipe, images, html_text))
        for line in trust_lines:
            print(line)
        print(f"meta-eval: wrote {out / 'meta_eval.md'}, {out / 'meta_eval.html'}, {out / 'meta_eval.json'}")
    return 0


def _record_judge_trust(payload: dict, recipe, human_file) -> list[str]:
    """A judge measured on human pairs: cache its agreement under its identity, for the sweep report's trust
    gate (meta/judge_trust.py), and say what the gate will make of it."""
    from iftkit.meta.judge_trust import is_judge, record

    if not human_file:
        return []
    if recipe is None:
        from iftkit.config.schema import Recipe

        recipe = Recipe()
    lines = []
    for name, summary in (payload.get("pairwise") or {}).items():
        if is_judge(name) and str(summary.get("against", "")).startswith("human"):
            lines.append(record(recipe, summary, human_file).line())
    return lines


def dynamics_main(path, out: Path):
    from iftkit.meta.dynamics import boundaries, describe, load_points
    from iftkit.meta.dynamics_chart import plot_dynamics
    from iftkit.meta.dynamics_ci import boundary_intervals, describe_intervals, load_prompt_scores, synthetic_effect

    if not Path(path).exists():
        raise IftkitError(f"--dynamics {path}: no such file or directory")
    points = load_points(path)
    bounds = boundaries(points)
    # a sweep dir also holds the per-prompt scores that give the findings their intervals
    per_prompt = load_prompt_scores(path) if Path(path).is_dir() else []
    intervals = boundary_intervals(per_prompt) if per_prompt else {}
    effects = synthetic_effect(per_prompt) if per_prompt else []
    png = plot_dynamics(points, bounds, out / "dynamics.png", title=f"Learning dynamics — {Path(path).name}",
                        intervals=intervals)
    lines = describe(bounds) + describe_intervals(intervals, effects)
    write_text_atomic(
        out / "dynamics.json",
        json.dumps({"boundaries": bounds, "intervals": intervals, "synthetic_effect": effects,
                    "points": [p.__dict__ for p in points]}, indent=2),
    )
    for line in lines:
        print(f"dynamics: {line}")
    print(f"dynamics: chart {png}")
    return [png], lines
