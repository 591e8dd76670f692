"""Write the sweep report: charts, a Markdown summary and a self-contained HTML page."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from iftkit.core.html import markdown_page
from iftkit.evaluation.answer_length import base_cut_lines
from iftkit.evaluation.results import empty_scorer_warning, empty_scorers
from iftkit.evaluation.scorers import is_judge
from iftkit.meta.judge_trust import Trust, Trusts, output_kind
from iftkit.report.axes import LM_EVAL_PREFIX, Axes, ReportSpec, choose_axes
from iftkit.report.charts import ChartText, scores_vs_x_chart, tradeoff_chart
from iftkit.report.confidence import pool_words
from iftkit.report.curve import curve_lines
from iftkit.report.glance import glance_lines
from iftkit.report.points import ALL_TASKS, ALPHA, BASE, attach_samples, direction, is_higher_better, points
from iftkit.report.power import verdict_lines
from iftkit.report.robustness import robustness_lines
from iftkit.report.scales import point_label, scale_lines
from iftkit.report.steps import has_steps, step_lines, steps_chart
from iftkit.report.summary import Recommendation, recommend, refuse_unseeing
from iftkit.report.summary_json import summary_json
from iftkit.report.tables import every_scorer_table, general_table, items_table, tradeoff_table


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    tradeoff_png: Path
    scores_png: Path
    summary: dict
    steps_png: Optional[Path] = None  # scores against the training step (sweep.checkpoints)
    # the primary scorer's points and the recommendations the report states (sweep/decide.py plans from them)
    points: list = field(default_factory=list)
    recommendations: list = field(default_factory=list)


def scorers_in(rows) -> list[str]:
    seen = []
    for r in rows:
        if r.get("task") == "__all__" and r["scorer"] not in seen:
            seen.append(r["scorer"])
    return seen


def write_report(rows: list[dict], out_dir: Path, spec: ReportSpec, meta: dict, samples: Optional[dict] = None,
                 judge_trust: Union[Trust, Trusts, None] = None, clusters: Optional[dict] = None) -> ReportFiles:
    """samples: per-prompt scores {cell: {(suite, sample_id): (prediction, scores)}} for paired CIs.
    judge_trust: the judge's measured agreement with humans (meta/judge_trust.py); a judge not
    shown to beat chance (None: never measured) is never the primary scorer or the general axis.
    clusters: {(suite, sample_id): cluster id} of prompts that share a family, template or source."""
    out_dir.mkdir(parents=True, exist_ok=True)
    read = _read(rows, spec, meta, samples, judge_trust, clusters)
    charts = _draw_charts(read, out_dir)
    md = _markdown(read)
    md_path = out_dir / "report.md"
    md_path.write_text(md)
    summary = summary_json(read.pts, read.recs, read.axes, spec, meta)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    html_path = out_dir / "report.html"
    html_path.write_text(markdown_page(md, f"iftkit report: {spec.name}", {p.name: p for p in charts if p}))
    return ReportFiles(html_path, md_path, charts[0], charts[1], summary, charts[2], read.pts, read.recs)


@dataclass
class _Read:
    """What one report states, worked out once: the axes, the points per scorer, the primary's points and the picks."""

    rows: list
    spec: ReportSpec
    meta: dict
    samples: Optional[dict]
    axes: Axes
    scorers: list
    per_scorer: dict
    pts: list
    recs: list


def _read(rows, spec: ReportSpec, meta: dict, samples, judge_trust, clusters) -> _Read:
    scorers = [s for s in scorers_in(rows) if not _lm_eval_only(rows, s)]
    axes = choose_axes(rows, spec.primary, meta, spec.general_kind, spec.general_scorer, judge_trust)
    per_scorer = {s: points(rows, s, spec.x_key) for s in scorers}
    pts = (points(rows, axes.primary, spec.x_key, gen_suite=axes.gen_suite, gen_scorer=axes.gen_scorer)
           if axes.primary else [])
    if samples:
        for s, s_pts in per_scorer.items():
            attach_samples(s_pts, samples, s, clusters=clusters)
        if axes.primary:
            attach_samples(pts, samples, axes.primary, general=(axes.gen_suite, axes.gen_scorer), clusters=clusters)
    if axes.primary is None:
        recs = [Recommendation(s, None, axes.primary_why, "none") for s in ("S1", "S2")]
    else:
        # a sweep that `decide` extended was looked at more than once: its tests run at the spent level
        alpha = (meta.get("decide") or {}).get("alpha", ALPHA)
        recs = refuse_unseeing(recommend(pts, spec.keep_general, spec.equivalence_margin, alpha), pts, axes.primary)
    return _Read(rows, spec, meta, samples, axes, scorers, per_scorer, pts, recs)


def _draw_charts(read: _Read, out_dir: Path) -> tuple:
    """(tradeoff.png, scores_vs_x.png, steps.png or None)."""
    spec, axes, pts, name = read.spec, read.axes, read.pts, read.spec.name
    title = f"{name}: what specialising on '{read.meta.get('target_task', 'target')}' costs"
    s1 = next((r.point for r in read.recs if r.scenario == "S1"), None)
    tradeoff = tradeoff_chart(pts, out_dir / "tradeoff.png", spec.x_key, spec.keep_general,
                              ChartText(title, axes.shown, axes.gen_label), s1=s1)
    scores = scores_vs_x_chart(
        read.per_scorer, out_dir / "scores_vs_x.png", spec.x_key, f"{name}: in-domain and general score per scorer"
    )
    steps_png = (steps_chart(pts, out_dir / "steps.png", spec.x_key, f"{name}: scores along training ({axes.shown})",
                             axes.gen_label, spec.keep_general) if has_steps(pts) else None)
    return tradeoff, scores, steps_png


def _markdown(read: _Read) -> str:
    return "\n".join([*_head_lines(read), *_recommendation_section(read), *_table_lines(read)])


def _head_lines(read: _Read) -> list[str]:
    """The title, what the report reads (target, axis, primary scorer, general axis) and the test set."""
    rows, meta, axes, x_key = read.rows, read.meta, read.axes, read.spec.x_key
    spec = meta.get("target_spec") or {}
    return [
        f"# Sweep report: {read.spec.name}",
        "",
        *glance_lines(read.recs, read.pts, x_key, read.spec.keep_general),
        f"Target task: `{meta.get('target_task')}`"
        + (f" ({spec['description']})" if spec.get("description") else "")
        + f". Axis: `{x_key}`. Primary scorer: {axes.primary_why}; {direction(is_higher_better(rows, axes.shown))}.",
        "",
        f"General axis (chart and S1's keep_general rule): {axes.gen_why}. Held-out general = suites no training "
        "row touched (the instruction set, lm-eval tasks, the forgetting suite); trained-family general = test "
        "rows of the catalog families the general training pool is drawn from, which every adapter was trained on.",
        "",
        *_test_set_lines(rows, axes.shown, meta, read.pts),
    ]


def _recommendation_section(read: _Read) -> list[str]:
    """The picks with their reasons and confidence, then how much they rest on the choices made."""
    rows, meta, axes, pts, recs, spec = read.rows, read.meta, read.axes, read.pts, read.recs, read.spec
    warnings = [f"- **Warning:** {empty_scorer_warning(s, f)}." for s, f in empty_scorers(rows)]
    return [
        "## Recommendation",
        *_recommendation_lines(recs, spec.x_key),
        *verdict_lines(pts, recs, axes.shown, (axes.gen_suite, axes.gen_scorer), spec.keep_general,
                       meta.get("power_target")),
        *(meta.get("decide") or {}).get("lines", []),
        *base_cut_lines(pts),
        *tradeoff_table(pts, spec.x_key, axes.gen_label)[1],
        *warnings,
        "",
        "S1 = the specialised model must stay a good generalist; S2 = it only ever serves the target task. "
        "Confidence words hold family-wise at 95 %: Holm's correction over the comparisons each recommendation "
        "makes (S1's floor: every point against the base model; the pick's lead: the pick against every other "
        "candidate). \"high\" needs that, per-prompt scores and 2 or more seeds per point.",
        "",
        *robustness_lines(rows, recs, read.per_scorer, read.samples, spec, axes),
        *curve_lines(pts, spec.x_key),
        *scale_lines(pts, spec.x_key),
        *step_lines(pts, recs, spec.x_key, read.per_scorer, meta.get("checkpoint_cost")),
        *_trust_lines(axes.judge_trust, axes.gated, rows, meta.get("judge_not_run") or []),
    ]


def _table_lines(read: _Read) -> list[str]:
    """The primary scorer's tradeoff table, general ability per suite, and every scorer."""
    rows, axes, pts, x_key = read.rows, read.axes, read.pts, read.spec.x_key
    table, _, cut_lines = tradeoff_table(pts, x_key, axes.gen_label)
    return [
        f"## Tradeoff ({axes.shown})",
        *table,
        "",
        *(["In-domain answers cut by the generation length limit (seeds pooled; a cut answer is scored as it "
           "stands):", *(f"- {line}" for line in cut_lines), ""] if cut_lines else []),
        "Scores are means with a 95 % CI [low, high] over the prompts and each point's training seeds (a t "
        "interval with the seed-to-seed variance counted, never narrower than Wilson's interval for 0–1 scores, "
        "so it does not collapse at 0 or 1), n = prompts; ± is the spread across seeds when there is no "
        "per-prompt data. Differences between points are paired by prompt, each side's seeds counted.",
        *pool_words(pts, lambda p: point_label(p, x_key)),
        "",
        *items_table(rows, x_key, pts),
        "## General ability, held out and trained-family",
        *general_table(rows, axes.shown, x_key, pts, read.samples, axes.judge_trust),
        "",
        "## Every scorer (in-domain / trained-family general)",
        *every_scorer_table(rows, read.scorers, read.per_scorer, pts, x_key, axes.judge_trust),
        "",
        "Charts: `tradeoff.png` (in-domain vs general) and `scores_vs_x.png` "
        "(scores vs the swept value, one panel per scorer).",
        "",
    ]


def _recommendation_lines(recs, x_key) -> list[str]:
    lines = []
    for r in recs:
        what = "no recommendation" if r.point is None else f"**{point_label(r.point, x_key)}**"
        lines.append(f"- {r.scenario}: {what} — {r.reason}. Confidence: {r.confidence}.")
        if r.tied:
            lines.append(
                f"  Statistically tied with {r.scenario}'s pick: "
                + ", ".join(point_label(p, x_key) for p in r.tied)
                + " (the evidence cannot separate them)."
            )
        lines += [f"  Undetermined: {note}." for note in r.notes]
    return lines


def _trust_lines(trusts: Optional[Trusts], gated: list, rows=(), not_run: list = ()) -> list[str]:
    """not_run: a line per judge the sweep left out because the gate refuses it (sweep/judge_off.py)."""
    if trusts is None and not not_run:
        return []
    lines = ["## Judge trust"]
    for line in not_run:
        lines += [line, ""]
    for trust in (trusts or {}).values():
        lines += [trust.text() + ".", ""]
        lines += _corrected_lines(trust, rows)
    if gated:
        lines.append(f"Kept off the primary scorer and the general axis: {', '.join(f'`{s}`' for s in gated)} "
                     "(their rows stay in the tables below, for reading, not for deciding).")
    return lines + [""]


def _lm_eval_only(rows, scorer) -> bool:
    """A harness metric (acc, prompt_level_strict_acc...): shown in the general table, not per scorer."""
    suites = {r["suite"] for r in rows if r["scorer"] == scorer}
    return all(s.startswith(LM_EVAL_PREFIX) for s in suites)


def _corrected_lines(trust: Trust, rows) -> list[str]:
    """The pairwise judge's in-domain win rates corrected for its measured sensitivity and specificity."""
    got = {}
    for r in rows:
        if (r.get("suite") == "in_domain" and r.get("task") == ALL_TASKS and r.get("n") and r.get("mean") is not None
                and is_judge(r["scorer"]) and output_kind(r["scorer"]) == trust.output == "pairwise"):
            wins, n = got.get(r["cell"], (0.0, 0))
            got[r["cell"]] = (wins + r["mean"] * r["n"], n + r["n"])
    fixed = {cell: trust.correction(wins, n) for cell, (wins, n) in got.items()}
    fixed = {cell: c for cell, c in fixed.items() if c and c.get("value") is not None}
    if not fixed:
        return []
    note = next(iter(fixed.values()))["note"]
    return [f"In-domain win rate against the reference, as judged and {note} (Rogan-Gladen; the 95 % interval "
            "counts the test prompts and the human pairs):",
            *(f"- {cell}: {got[cell][0] / got[cell][1]:.3f} judged, {c['value']:.3f} [{c['ci_low']:.3f}, "
              f"{c['ci_high']:.3f}] corrected (n={got[cell][1]})" for cell, c in fixed.items()), ""]


def _test_set_lines(rows, primary, meta, pts=()) -> list[str]:
    """How many in-domain rows the scores rest on and the CI width that gives (what it can detect: the power lines
    beside the recommendation, report/power.py)."""
    base = next(
        (
            r
            for r in rows
            if r.get("cell") == BASE
            and r.get("suite") == "in_domain"
            and r.get("task") == ALL_TASKS
            and r.get("scorer") == primary
        ),
        None,
    )
    if not base or not base.get("n"):
        return []
    width = ""
    if base.get("ci_low") is not None and base.get("ci_high") is not None:
        width = f"; the base model's 95 % CI on it is ±{(base['ci_high'] - base['ci_low']) / 2:.3f}"
    source = " (held out from the user's file)" if meta.get("target_spec") else ""
    lines = [f"In-domain test set: {base['n']} rows{source}{width}. Differences smaller than that are noise."]
    return lines + [""]
