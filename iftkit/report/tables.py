"""The report's tables: the primary scorer's tradeoff, general ability per suite, every scorer, and in-domain
items (answers that are lists of records), with the warnings the tradeoff table raises."""

import math
from typing import Optional

from iftkit.evaluation.answer_length import truncation_line
from iftkit.evaluation.degenerate import WARN_SHARE
from iftkit.evaluation.scorers import ITEMS, TASK_ANSWER, info, is_judge, playing
from iftkit.meta.judge_trust import Trusts
from iftkit.report.axes import general_axes, is_held_out
from iftkit.report.points import attach_samples, is_higher_better, points
from iftkit.report.scales import point_label


def fmt(v, sd=None):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.3f}" if sd is None or sd == 0 else f"{v:.3f} ± {sd:.3f}"


def ci_text(mean, sd, est) -> str:
    if est is not None and est.ci_low is not None:
        return f"{mean:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}] n={est.n}"
    return fmt(mean, sd)


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


def tradeoff_table(pts, x_key, gen_label) -> tuple[list, list, list]:
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
            f"| {label} | {p.seeds} | {ci_text(p.in_domain, p.in_sd, p.in_ci)} "
            f"| {ci_text(p.general, p.gen_sd, p.gen_ci)} | {same} |"
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


def general_table(rows, primary, x_key, pts, samples, trust: Optional[Trusts] = None) -> list[str]:
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
            f"| {kind} | {suite} | {scorer_name(scorer, trust)} | "
            + " | ".join("–" if q is None else ci_text(q.general, q.gen_sd, q.gen_ci) for q in cells)
            + " |"
        )
    out += [
        "",
        "lm-eval rows: the harness's own metric and numbers, CI = ± 1.96 × its stderr where no per-document "
        "scores were paired.",
    ]
    return out


def every_scorer_table(rows, scorers, per_scorer, pts, x_key, trust) -> list[str]:
    out = ["| scorer | " + " | ".join(point_label(p, x_key) for p in pts) + " |", "|---|" + "---|" * len(pts)]
    for s in scorers:
        cells = {p.key: p for p in per_scorer[s]}
        vals = [cells.get(p.key) for p in pts]
        lower = "" if is_higher_better(rows, s) else " (lower is better)"
        out.append(
            f"| {scorer_name(s, trust)}{lower} | "
            + " | ".join("–" if v is None else f"{fmt(v.in_domain)} / {fmt(v.general)}" for v in vals)
            + " |"
        )
    return out


def scorer_name(scorer: str, trusts: Optional[Trusts]) -> str:
    """A judge's row name carries its own output's measured agreement with humans."""
    if trusts is None or not is_judge(scorer):
        return scorer
    trust = trusts.for_output(scorer)
    return f"{scorer} (human agreement {trust.figure_text}; {'trusted' if trust.trusted else 'not trusted'})"


def items_table(rows, x_key, pts) -> list[str]:
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
                       + " | ".join(fmt(q.in_domain, q.in_sd) if (q := got.get(p.key)) else "–" for p in pts) + " |")
    return out + [
        "",
        "Micro figures pool every item of every answer (matched on all fields); the per-answer means weigh each "
        "answer equally; ± is the spread across seeds.",
        "",
    ]
