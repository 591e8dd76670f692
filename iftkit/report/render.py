"""Write the sweep report: charts, a Markdown summary and a self-contained HTML page."""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from iftkit.report.html import markdown_page
from iftkit.report.charts import scores_vs_x_chart, tradeoff_chart
from iftkit.report.summary import (ALL_TASKS, BASE, Recommendation, attach_samples, choose_primary,
                                   detectable_difference, points, recommend)
from iftkit.config.keys import short_name


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    tradeoff_png: Path
    scores_png: Path
    summary: dict


def _fmt(v, sd=None):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.3f}" if sd is None or sd == 0 else f"{v:.3f} ± {sd:.3f}"


def scorers_in(rows) -> list[str]:
    seen = []
    for r in rows:
        if r.get("task") == "__all__" and r["scorer"] not in seen:
            seen.append(r["scorer"])
    return seen


# an adapter whose outputs match the base model's this often did not learn anything visible
IDENTICAL_WARN = 0.95


def write_report(rows: list[dict], out_dir: Path, name: str, x_key: str, primary: str, keep_general: float, meta: dict,
                 samples: Optional[dict] = None) -> ReportFiles:
    """samples: per-prompt scores {cell: {(suite, sample_id): (prediction, scores)}} for paired CIs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scorers = scorers_in(rows)
    spec = meta.get("target_spec") or {}
    requested = primary
    primary, primary_why = choose_primary(rows, requested, target_kind=spec.get("kind"))
    per_scorer = {s: points(rows, s, x_key) for s in scorers}
    pts = per_scorer.get(primary, []) if primary else []
    if samples:
        for s, s_pts in per_scorer.items():
            attach_samples(s_pts, samples, s)
    if primary is None:
        recs = [Recommendation(s, None, primary_why, "none") for s in ("S1", "S2")]
        primary = requested
    else:
        recs = recommend(pts, keep_general)
    title = f"{name}: what specialising on '{meta.get('target_task', 'target')}' costs"
    s1 = next((r.point for r in recs if r.scenario == "S1"), None)
    tradeoff = tradeoff_chart(pts, out_dir / "tradeoff.png", primary, x_key, keep_general, title, s1=s1)
    scores = scores_vs_x_chart(per_scorer, out_dir / "scores_vs_x.png", x_key, f"{name}: in-domain and general score per scorer")

    table = ["| point | seeds | in-domain | general | outputs identical to base |", "|---|---|---|---|---|"]
    warnings = []
    for p in pts:
        label = "base model" if p.is_base else _col(p, x_key)
        same = "–" if not p.identical or not p.identical[1] else f"{p.identical[0]}/{p.identical[1]}"
        table.append(f"| {label} | {p.seeds} | {_ci(p.in_domain, p.in_sd, p.in_ci)} | {_ci(p.general, p.gen_sd, p.gen_ci)} "
                     f"| {same} |")
        if p.identical and p.identical[1] and p.identical[0] >= IDENTICAL_WARN * p.identical[1]:
            warnings.append(f"- **Warning:** the adapter at {label} gave the base model's exact output on "
                            f"{p.identical[0]} of {p.identical[1]} prompts: it barely changed the model "
                            f"(raise training.max_steps or training.learning_rate).")
    by_scorer = ["| scorer | " + " | ".join(_col(p, x_key) for p in pts) + " |", "|---|" + "---|" * len(pts)]
    for s in scorers:
        cells = {(p.x, p.series): p for p in per_scorer[s]}
        vals = [cells.get((p.x, p.series)) for p in pts]
        by_scorer.append(f"| {s} | " + " | ".join("–" if v is None else f"{_fmt(v.in_domain)} / {_fmt(v.general)}" for v in vals) + " |")
    rec_lines = []
    for r in recs:
        what = "no recommendation" if r.point is None else f"**{_col(r.point, x_key)}**"
        rec_lines.append(f"- {r.scenario}: {what} — {r.reason}. Confidence: {r.confidence}.")
        if r.tied:
            rec_lines.append(f"  Statistically tied with {r.scenario}'s pick: " + ", ".join(_col(p, x_key) for p in r.tied)
                             + " (the evidence cannot separate them).")
    md = "\n".join([
        f"# Sweep report: {name}",
        "",
        f"Target task: `{meta.get('target_task')}`" + (f" ({spec['description']})" if spec.get("description") else "")
        + f". Axis: `{x_key}`. Primary scorer: {primary_why}; higher is better.",
        "",
        *_test_set_lines(rows, primary, meta, pts),
        "## Recommendation",
        *rec_lines,
        *warnings,
        "",
        "S1 = the specialised model must stay a good generalist; S2 = it only ever serves the target task.",
        "",
        f"## Tradeoff ({primary})",
        *table,
        "",
        "Scores are means with a 95 % bootstrap CI over the prompts (and seeds) [low, high], n = prompts; "
        "± is the spread across seeds when there is no per-prompt data.",
        "",
        "## Every scorer (in-domain / general)",
        *by_scorer,
        "",
        "Charts: `tradeoff.png` (in-domain vs general) and `scores_vs_x.png` (scores vs the swept value, one panel per scorer).",
        "",
    ])
    md_path = out_dir / "report.md"
    md_path.write_text(md)
    summary = {
        "name": name, "x_key": x_key, "primary_scorer": primary, "primary_reason": primary_why.replace("`", ""),
        "keep_general": keep_general, **meta,
        "recommendations": [{"scenario": r.scenario, "x": None if r.point is None else r.point.x, "series": None if r.point is None else r.point.series, "reason": r.reason, "confidence": r.confidence} for r in recs],
        "points": [{"x": p.x, "series": p.series, "in_domain": p.in_domain, "general": p.general, "in_sd": p.in_sd,
                    "gen_sd": p.gen_sd, "seeds": p.seeds, "in_ci": p.in_ci.to_dict() if p.in_ci else None,
                    "gen_ci": p.gen_ci.to_dict() if p.gen_ci else None, "identical_to_base": p.identical,
                    "keeps_general": p.keeps_general} for p in pts],
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    html_path = out_dir / "report.html"
    html_path.write_text(markdown_page(md, f"iftkit report: {name}", {"tradeoff.png": tradeoff, "scores_vs_x.png": scores}))
    return ReportFiles(html_path, md_path, tradeoff, scores, summary)


def _ci(mean, sd, est) -> str:
    if est is not None and est.ci_low is not None:
        return f"{mean:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}] n={est.n}"
    return _fmt(mean, sd)


def _test_set_lines(rows, primary, meta, pts=()) -> list[str]:
    """How many in-domain rows the scores rest on, the CI width that gives, and the smallest
    difference it can detect."""
    base = next((r for r in rows if r.get("cell") == BASE and r.get("suite") == "in_domain"
                 and r.get("task") == ALL_TASKS and r.get("scorer") == primary), None)
    if not base or not base.get("n"):
        return []
    width = ""
    if base.get("ci_low") is not None and base.get("ci_high") is not None:
        width = f"; the base model's 95 % CI on it is ±{(base['ci_high'] - base['ci_low']) / 2:.3f}"
    source = " (held out from the user's file)" if meta.get("target_spec") else ""
    lines = [f"In-domain test set: {base['n']} rows{source}{width}. Differences smaller than that are noise."]
    base_pt = next((p for p in pts if p.is_base), None)
    mde = detectable_difference(base_pt) if base_pt is not None else None
    if mde is not None:
        lines.append(f"Power: with {base['n']} in-domain prompts, only in-domain differences of about {mde:.2f} or more "
                     f"are detected reliably (95 % confidence, 80 % power); raise the test size to see smaller ones.")
    return lines + [""]


def _col(p, x_key):
    return "base" if p.is_base else f"{short_name(x_key)}={p.x}" + (f" ({p.series})" if p.series else "")
