"""Write the sweep report: charts, a Markdown summary and a self-contained HTML page."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from iftkit.core.html import markdown_page
from iftkit.evaluation.answer_length import base_cut_lines, truncation_line
from iftkit.evaluation.degenerate import WARN_SHARE
from iftkit.evaluation.results import empty_scorer_warning, empty_scorers
from iftkit.evaluation.scorers import ITEMS, TASK_ANSWER, info, is_judge, playing
from iftkit.meta.judge_trust import Trust, Trusts, as_trusts, output_kind
from iftkit.report.charts import scores_vs_x_chart, tradeoff_chart
from iftkit.report.curve import curve_lines, propose_ratio
from iftkit.report.power import verdict_lines
from iftkit.report.robustness import robustness_lines
from iftkit.report.scales import point_label, scale_lines
from iftkit.report.steps import has_steps, step_lines, steps_chart
from iftkit.report.summary import (
    ALL_TASKS,
    ALPHA,
    AXIS_RULE,
    BASE,
    LM_EVAL_PREFIX,
    Recommendation,
    attach_samples,
    choose_general,
    choose_primary,
    direction,
    general_axes,
    is_held_out,
    is_higher_better,
    points,
    pool_words,
    recommend,
    refuse_unseeing,
)


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


def degenerate_warning(p, label: str) -> Optional[str]:
    """A warning when a point's answers are empty or one repeated piece often enough (evaluation/degenerate.py)."""
    bad, n = p.degenerate or (0, 0)
    if not n or bad < WARN_SHARE * n:
        return None
    return (
        f"- **Warning:** {label} answered {bad} of {n} prompts with nothing or one repeated piece: "
        "the model or its tokenizer setup is likely broken (BOS, chat template, end tokens); its scores say "
        "nothing about the mix (check `iftkit smoke --config <recipe>`)."
    )


@dataclass
class Axes:
    """What the report reads: the primary scorer (None: none scored both suites) and the general axis,
    each with the reason in words, and the judge outputs the trust gate keeps off both."""

    requested: str
    primary: Optional[str]
    primary_why: str
    gen_suite: str
    gen_scorer: str
    gen_why: str
    gated: list
    judge_trust: Optional[Trusts]

    @property
    def shown(self) -> str:
        """The scorer the tables and charts are titled by: the primary, else the one asked for."""
        return self.primary or self.requested

    @property
    def gen_label(self) -> str:
        kind = "held-out" if is_held_out(self.gen_suite) else "trained-family"
        return f"{kind} general ({self.gen_scorer} on {self.gen_suite})"


def write_report(
    rows: list[dict],
    out_dir: Path,
    name: str,
    x_key: str,
    primary: str,
    keep_general: float,
    meta: dict,
    samples: Optional[dict] = None,
    general_kind: str = "held_out",
    general_scorer: Optional[str] = None,
    judge_trust: Union[Trust, Trusts, None] = None,
    equivalence_margin: Optional[float] = None,
    clusters: Optional[dict] = None,
) -> ReportFiles:
    """samples: per-prompt scores {cell: {(suite, sample_id): (prediction, scores)}} for paired CIs.
    general_kind / general_scorer: the general axis (sweep.general_kind / sweep.general_scorer).
    judge_trust: the judge's measured agreement with humans (meta/judge_trust.py); a judge not
    shown to beat chance (None: never measured) is never the primary scorer or the general axis.
    equivalence_margin: sweep.equivalence_margin, behind every "as good" (None: 2 % of the scale).
    clusters: {(suite, sample_id): cluster id} of prompts that share a family, template or source."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scorers = [s for s in scorers_in(rows) if not _lm_eval_only(rows, s)]
    axes = choose_axes(rows, primary, meta, general_kind, general_scorer, judge_trust)
    per_scorer = {s: points(rows, s, x_key) for s in scorers}
    pts = (points(rows, axes.primary, x_key, gen_suite=axes.gen_suite, gen_scorer=axes.gen_scorer)
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
        recs = refuse_unseeing(recommend(pts, keep_general, equivalence_margin, alpha), pts, axes.primary)
    charts = _draw_charts(pts, per_scorer, recs, axes, out_dir, name, x_key, keep_general, meta)
    md = _markdown(rows, pts, per_scorer, recs, axes, scorers, name, x_key, keep_general, meta, samples)
    md_path = out_dir / "report.md"
    md_path.write_text(md)
    summary = _summary(pts, recs, axes, name, x_key, keep_general, meta)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    html_path = out_dir / "report.html"
    html_path.write_text(markdown_page(md, f"iftkit report: {name}", {p.name: p for p in charts if p}))
    return ReportFiles(html_path, md_path, charts[0], charts[1], summary, charts[2], pts, recs)


def choose_axes(rows, requested: str, meta: dict, general_kind: str, general_scorer: Optional[str],
                judge_trust: Union[Trust, Trusts, None]) -> Axes:
    """The primary scorer and the general axis (summary.choose_primary / choose_general), with a judge the
    trust gate refuses (or never measured) kept off both."""
    judged = sorted({r["scorer"] for r in rows if is_judge(r["scorer"])})
    judge_trust = as_trusts(judge_trust)
    if judged:  # each judge output is gated on its own measurement (never measured: refused)
        judge_trust = Trusts(judge_trust or {})
        for s in judged:
            judge_trust.setdefault(output_kind(s), judge_trust.for_output(s))
    gated = [s for s in judged if not judge_trust.for_output(s).trusted]
    axis_rows = [r for r in rows if r["scorer"] not in gated]
    primary, primary_why = choose_primary(axis_rows, requested, target_kind=(meta.get("target_spec") or {}).get("kind"))
    if requested in gated:
        primary_why = (f"`{requested}` (sweep.primary_scorer) is a judge the trust gate refuses (see Judge trust)"
                       + (f"; the primary scorer is `{primary}` instead" if primary else
                          "; no other scorer scored both suites"))
    gen_suite, gen_scorer, gen_why = choose_general(
        axis_rows, general_kind, general_scorer, primary or requested, self_judge=bool(meta.get("self_judge")))
    if general_scorer and general_scorer.rpartition(":")[2] in gated:
        gen_why = gen_why.replace(f"sweep.general_scorer `{general_scorer}` has no base-model and adapter scores",
                                  f"sweep.general_scorer `{general_scorer}` is a judge the trust gate refuses")
    if not general_scorer:
        gen_why += f" ({AXIS_RULE})"
    return Axes(requested, primary, primary_why, gen_suite, gen_scorer, gen_why, gated, judge_trust)


def _draw_charts(pts, per_scorer, recs, axes: Axes, out_dir: Path, name, x_key, keep_general, meta) -> tuple:
    """(tradeoff.png, scores_vs_x.png, steps.png or None)."""
    title = f"{name}: what specialising on '{meta.get('target_task', 'target')}' costs"
    s1 = next((r.point for r in recs if r.scenario == "S1"), None)
    tradeoff = tradeoff_chart(
        pts, out_dir / "tradeoff.png", axes.shown, x_key, keep_general, title, s1=s1, general_label=axes.gen_label
    )
    scores = scores_vs_x_chart(
        per_scorer, out_dir / "scores_vs_x.png", x_key, f"{name}: in-domain and general score per scorer"
    )
    steps_png = (steps_chart(pts, out_dir / "steps.png", x_key, f"{name}: scores along training ({axes.shown})",
                             axes.gen_label, keep_general) if has_steps(pts) else None)
    return tradeoff, scores, steps_png


def _markdown(rows, pts, per_scorer, recs, axes: Axes, scorers, name, x_key, keep_general, meta, samples) -> str:
    spec = meta.get("target_spec") or {}
    primary = axes.shown
    table, warnings, cut_lines = _tradeoff_table(pts, x_key, axes.gen_label)
    warnings += [f"- **Warning:** {empty_scorer_warning(s, f)}." for s, f in empty_scorers(rows)]
    return "\n".join(
        [
            f"# Sweep report: {name}",
            "",
            f"Target task: `{meta.get('target_task')}`"
            + (f" ({spec['description']})" if spec.get("description") else "")
            + f". Axis: `{x_key}`. Primary scorer: {axes.primary_why}; {direction(is_higher_better(rows, primary))}.",
            "",
            f"General axis (chart and S1's keep_general rule): {axes.gen_why}. Held-out general = suites no training "
            "row touched (the instruction set, lm-eval tasks, the forgetting suite); trained-family general = test "
            "rows of the catalog families the general training pool is drawn from, which every adapter was trained on.",
            "",
            *_test_set_lines(rows, primary, meta, pts),
            "## Recommendation",
            *_recommendation_lines(recs, x_key),
            *verdict_lines(pts, recs, primary, (axes.gen_suite, axes.gen_scorer), keep_general,
                           meta.get("power_target")),
            *(meta.get("decide") or {}).get("lines", []),
            *base_cut_lines(pts),
            *warnings,
            "",
            "S1 = the specialised model must stay a good generalist; S2 = it only ever serves the target task. "
            "Confidence words hold family-wise at 95 %: Holm's correction over the comparisons each recommendation "
            "makes (S1's floor: every point against the base model; the pick's lead: the pick against every other "
            "candidate). \"high\" needs that, per-prompt scores and 2 or more seeds per point.",
            "",
            *robustness_lines(rows, recs, per_scorer, x_key, keep_general, samples, primary,
                              (axes.gen_suite, axes.gen_scorer)),
            *curve_lines(pts, x_key),
            *scale_lines(pts, x_key),
            *step_lines(pts, recs, x_key, per_scorer, meta.get("checkpoint_cost")),
            *_trust_lines(axes.judge_trust, axes.gated, rows, meta.get("judge_not_run") or []),
            f"## Tradeoff ({primary})",
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
            *_items_table(rows, x_key, pts),
            "## General ability, held out and trained-family",
            *_general_table(rows, primary, x_key, pts, samples, axes.judge_trust),
            "",
            "## Every scorer (in-domain / trained-family general)",
            *_every_scorer_table(rows, scorers, per_scorer, pts, x_key, axes.judge_trust),
            "",
            "Charts: `tradeoff.png` (in-domain vs general) and `scores_vs_x.png` "
            "(scores vs the swept value, one panel per scorer).",
            "",
        ]
    )


def _tradeoff_table(pts, x_key, gen_label) -> tuple[list, list, list]:
    """(the primary scorer's table, warnings about broken or unchanged adapters, length-limit lines)."""
    table = [f"| point | seeds | in-domain | {gen_label} | outputs identical to base |", "|---|---|---|---|---|"]
    warnings, cut_lines = [], []
    for p in pts:
        label = "base model" if p.is_base else point_label(p, x_key)
        broken = degenerate_warning(p, label)
        if broken:
            warnings.append(broken)
            label += " ⚠ degenerate answers"
        same = "–" if not p.identical or not p.identical[1] else f"{p.identical[0]}/{p.identical[1]}"
        table.append(
            f"| {label} | {p.seeds} | {_ci(p.in_domain, p.in_sd, p.in_ci)} | {_ci(p.general, p.gen_sd, p.gen_ci)} "
            f"| {same} |"
        )
        if p.truncated and p.truncated[0]:
            cut_lines.append(truncation_line(*p.truncated, label))
        if p.identical and p.identical[1] and p.identical[0] >= IDENTICAL_WARN * p.identical[1]:
            warnings.append(
                f"- **Warning:** the adapter at {label} gave the base model's exact output on "
                f"{p.identical[0]} of {p.identical[1]} prompts: it barely changed the model "
                f"(raise training.max_steps or training.learning_rate)."
            )
    return table, warnings, cut_lines


def _every_scorer_table(rows, scorers, per_scorer, pts, x_key, trust) -> list[str]:
    out = ["| scorer | " + " | ".join(point_label(p, x_key) for p in pts) + " |", "|---|" + "---|" * len(pts)]
    for s in scorers:
        cells = {p.key: p for p in per_scorer[s]}
        vals = [cells.get(p.key) for p in pts]
        lower = "" if is_higher_better(rows, s) else " (lower is better)"
        out.append(
            f"| {_scorer_name(s, trust)}{lower} | "
            + " | ".join("–" if v is None else f"{_fmt(v.in_domain)} / {_fmt(v.general)}" for v in vals)
            + " |"
        )
    return out


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


def _summary(pts, recs, axes: Axes, name, x_key, keep_general, meta) -> dict:
    """summary.json: the choices, the recommendations and every point, for scripts and W&B."""
    return {
        "name": name,
        "x_key": x_key,
        "primary_scorer": axes.shown,
        "primary_reason": axes.primary_why.replace("`", ""),
        "keep_general": keep_general,
        **meta,
        "general_axis": {
            "suite": axes.gen_suite,
            "scorer": axes.gen_scorer,
            "held_out": is_held_out(axes.gen_suite),
            "reason": axes.gen_why.replace("`", ""),
        },
        "recommendations": [
            {
                "scenario": r.scenario,
                "x": None if r.point is None else r.point.x,
                "series": None if r.point is None else r.point.series,
                "adapter_scale": None if r.point is None else r.point.adapter_scale,
                "step": None if r.point is None else r.point.step,
                "final_step": None if r.point is None else r.point.final_step,
                "reason": r.reason,
                "confidence": r.confidence,
                "undetermined": r.notes,
            }
            for r in recs
        ],
        "points": [
            {
                "x": p.x,
                "series": p.series,
                "adapter_scale": p.adapter_scale,
                "in_domain": p.in_domain,
                "general": p.general,
                "in_sd": p.in_sd,
                "gen_sd": p.gen_sd,
                "seeds": p.seeds,
                "in_ci": p.in_ci.to_dict() if p.in_ci else None,
                "gen_ci": p.gen_ci.to_dict() if p.gen_ci else None,
                "identical_to_base": p.identical,
                "degenerate_answers": p.degenerate,
                "keeps_general": p.keeps_general,
                "truncated": p.truncated,
                "s1_outcome": {True: "above", False: "below", None: "undetermined"}[p.keeps_general]
                if not p.is_base else None,
                "general_margin": p.general_margin.to_dict() if p.general_margin else None,
                "step": p.step,
                "final_step": p.final_step,
            }
            for p in pts
        ],
        # the intermediate grid value report/curve.py proposes where the in-domain knee falls between two
        "proposed_x": propose_ratio(pts, x_key)._asdict(),
        "judge_trust": None if axes.judge_trust is None else {
            "outputs": {k: t.__dict__ for k, t in axes.judge_trust.items()}, "gated": axes.gated},
    }


def _scorer_name(scorer: str, trusts: Optional[Trusts]) -> str:
    """A judge's row name carries its own output's measured agreement with humans."""
    if trusts is None or not is_judge(scorer):
        return scorer
    trust = trusts.for_output(scorer)
    return f"{scorer} (human agreement {trust.figure_text}; {'trusted' if trust.trusted else 'not trusted'})"


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


def _items_table(rows, x_key, pts) -> list[str]:
    """In-domain item-level figures per point, when the target's answers are lists of records: the task
    answer's mean per answer beside the item scorers' outputs, each named with its aggregation."""
    items = [o for s in playing(ITEMS) for o in info(s).output_names]
    if not pts or not any(r.get("scorer") in items and r.get("suite") == "in_domain" for r in rows):
        return []
    aggregation = {r["scorer"]: r["aggregation"] for r in rows if r.get("aggregation")}
    out = [
        "## In-domain items (answers that are lists of records)",
        "| figure | " + " | ".join(point_label(p, x_key) for p in pts) + " |",
        "|---|" + "---|" * len(pts),
    ]
    for scorer in playing(TASK_ANSWER) + items:
        got = {p.key: p for p in points(rows, scorer, x_key, gen_suite="in_domain")}
        what = f"`{scorer}`" + (f", {aggregation[scorer]}" if scorer in aggregation else "")
        if got:
            out.append(f"| {what} | "
                       + " | ".join(_fmt(q.in_domain, q.in_sd) if (q := got.get(p.key)) else "–" for p in pts) + " |")
    return out + [
        "",
        "Micro figures pool every item of every answer (matched on all fields); the per-answer means weigh each "
        "answer equally; ± is the spread across seeds.",
        "",
    ]


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


def _general_table(rows, primary, x_key, pts, samples, trust: Optional[Trusts] = None) -> list[str]:
    """Every general measurement per point: held-out suites (instruction set, lm-eval tasks) first."""
    axes = general_axes(rows)
    if not axes or not pts:
        return ["No general suite was scored for the base model and an adapter."]
    out = [
        "| general | suite | scorer | " + " | ".join(point_label(p, x_key) for p in pts) + " |",
        "|---|---|---|" + "---|" * len(pts),
    ]
    for suite, scorer in axes:
        got = {p.key: p for p in points(rows, primary, x_key, gen_suite=suite, gen_scorer=scorer)}
        if samples:
            attach_samples(list(got.values()), samples, primary, suites=("general",), general=(suite, scorer))
        cells = [got.get(p.key) for p in pts]
        kind = "held-out" if is_held_out(suite) else "trained-family"
        out.append(
            f"| {kind} | {suite} | {_scorer_name(scorer, trust)} | "
            + " | ".join("–" if q is None else _ci(q.general, q.gen_sd, q.gen_ci) for q in cells)
            + " |"
        )
    out += [
        "",
        "lm-eval rows: the harness's own metric and numbers, CI = ± 1.96 × its stderr where no per-document "
        "scores were paired.",
    ]
    return out


def _ci(mean, sd, est) -> str:
    if est is not None and est.ci_low is not None:
        return f"{mean:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}] n={est.n}"
    return _fmt(mean, sd)


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
