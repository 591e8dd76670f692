"""Render the scorers x requirements table (Markdown, self-contained HTML) and plain verdicts."""

from typing import Optional

from iftkit.core.html import markdown_page

# thresholds for the verdict words; a requirement is judged on the lower CI bound where one exists,
# so a lucky point estimate on few samples does not earn a "meets"
MEETS, PARTLY = 0.5, 0.2
TFA_MEETS, TFA_PARTLY = 0.8, 0.6
SPREAD_OK = 0.15

COLUMNS = [
    ("cit_kendall", "CIT samples (Kendall τ)"),
    ("cit_spearman", "CIT samples (Spearman ρ)"),
    ("cit_models", "CIT models (Kendall τ)"),
    ("cat_pooled", "CAT pooled (Kendall τ)"),
    ("cat_spread", "CAT calibration spread ↓"),
    ("tfa", "TFA (P correct-reformatted > wrong)"),
]


def _level(est, meets, partly) -> Optional[str]:
    if est.value is None:
        return None
    v = est.ci_low if est.ci_low is not None else est.value
    return "meets" if v >= meets else "partly" if est.value >= partly else "fails"


def verdicts(rep) -> dict:
    cit = _level(rep.cit_kendall, MEETS, PARTLY)
    cat = _level(rep.cat_pooled, MEETS, PARTLY)
    if cat == "meets" and rep.cat_spread.value is not None and rep.cat_spread.value > SPREAD_OK:
        cat = "partly"
    tfa = _level(rep.tfa, TFA_MEETS, TFA_PARTLY)
    return {"CIT": cit, "CAT": cat, "TFA": tfa}


# what each requirement's verdict means for a user, in the order they are told
_MEANING = {
    "CIT": {"meets": "ranks answers within a task like the reference does",
            "partly": "ranks answers within a task only loosely like the reference",
            "fails": "does not rank answers within a task like the reference"},
    "CAT": {"meets": "its values mean the same across tasks, so averaging tasks is fair",
            "partly": "its values mean different things on different tasks: do not average it across tasks",
            "fails": "its values mean different things on different tasks: do not average it across tasks"},
    "TFA": {"meets": "a correct answer in another format still beats a wrong one",
            "partly": "it is swayed by answer format (correct-but-reformatted answers often lose to wrong ones)",
            "fails": "it rewards format over correctness: do not use it to compare models that answer in "
                     "different styles"},
}


def sentence(rep) -> str:
    v = verdicts(rep)
    parts = [_MEANING[req][v[req]] for req in ("CIT", "CAT", "TFA") if v[req] is not None]
    if not parts:
        return f"{rep.scorer}: not enough data to judge."
    measured = [x for x in v.values() if x is not None]
    met = sum(x == "meets" for x in measured)
    if len(measured) < 3:
        missing = ", ".join(k for k, x in v.items() if x is None)
        return f"{rep.scorer} — {missing} not measurable here; " + "; ".join(parts) + "."
    trust = {3: "trust it", 2: "use with care", 1: "use only for its strength", 0: "do not rely on it"}
    return f"{rep.scorer} — {trust[met]}: " + "; ".join(parts) + "."


def markdown(reports, reference_name: str, pairwise: Optional[dict] = None, notes=()) -> str:
    lines = [f"# Scorer meta-evaluation (reference: {reference_name})", ""]
    if reports:
        lines += _requirements_table(reports)
        lines += ["## Verdicts", ""] + [f"- {sentence(r)}" for r in reports]
    tfa_kinds = sorted({k for r in reports for k in r.tfa_by_perturbation})
    if tfa_kinds:
        lines += ["", "## TFA by perturbation (P correct-reformatted > wrong; 0.5 = coin flip)", ""]
        lines.append("| scorer | " + " | ".join(tfa_kinds) + " | ties |")
        lines.append("|" + "---|" * (len(tfa_kinds) + 2))
        for r in reports:
            if r.tfa_by_perturbation:
                cells = [f"{r.tfa_by_perturbation[k]:.2f}" if k in r.tfa_by_perturbation else "n/a" for k in tfa_kinds]
                ties = f"{r.tfa_ties:.0%}" if r.tfa_ties is not None else "n/a"
                lines.append(f"| {r.scorer} | " + " | ".join(cells) + f" | {ties} |")
    if pairwise:
        from iftkit.meta.pairwise import trust_table, verdict_line

        lines += ["", "## Pairwise judges vs human preferences", ""]
        for name, p in pairwise.items():
            lines.append(
                f"- **{name}** ({p['pairs']} pairs, against {p.get('against', 'preferences')}): {p['description']}"
            )
            if "verdicts" in p:
                lines.append(f"  - {verdict_line(p)}")
            for ex in p.get("unparsed_examples", []):
                lines.append(f"  - unparsed verdict example: {ex.strip()[:160]!r}")
        for name, p in pairwise.items():
            lines += [
                "",
                f"### Judge trust: {name} vs baselines (95% bootstrap CI; agreement over human-decided pairs, "
                "a judge tie counts half)",
                "",
            ] + trust_table(name, p)
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _requirements_table(reports) -> list[str]:
    head = ["scorer"] + [c[1] for c in COLUMNS] + ["verdict CIT/CAT/TFA"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in reports:
        v = verdicts(r)
        cells = [r.scorer] + [getattr(r, k).fmt() for k, _ in COLUMNS] + ["/".join(x or "n/a" for x in v.values())]
        lines.append("| " + " | ".join(cells) + " |")
    note = ("Values: point estimate [95% bootstrap CI]. n/a: not measurable "
            "(constant scores, too few models, scorer unavailable).")
    return lines + ["", note, ""]


def html_page(markdown_text: str, images=()) -> str:
    """Self-contained HTML (no network): tables rendered, images embedded as data URIs."""
    return markdown_page(markdown_text, "iftkit meta-eval", images)
