"""The report's first screen: one row per scenario with the pick, how sure (one word and an interval), why in
one line, and what would make it surer. It restates the Recommendation section below in short; the reasons,
Holm's corrections, margins and power stay there."""

from typing import Optional

from iftkit.core.stats import prompts_to_decide
from iftkit.report.confidence import ci_name
from iftkit.report.points import ALPHA, Point, general_floor
from iftkit.report.scales import point_label
from iftkit.report.summary import Recommendation

SCENARIOS = {"S1": "S1: stay a good generalist", "S2": "S2: serve only the target task"}
WORDS = ("high", "medium", "low", "unknown")
SEEDS = "`iftkit sweep decide --config <recipe>` adds them where they could change the pick"
# past this many times today's prompts, more prompts is no practical way to decide (as report/confidence.py says)
PRACTICAL = 1000


def glance_lines(recs: list[Recommendation], pts: list[Point], x_key: str, keep_general: float) -> list[str]:
    base = next((p for p in pts if p.is_base), None)
    out = ["## At a glance", "", "| scenario | pick | how sure | why | to be surer |", "|---|---|---|---|---|"]
    for r in recs:
        cells = (SCENARIOS.get(r.scenario, r.scenario), _pick(r, x_key), how_sure(r, x_key),
                 why(r, base, keep_general), surer(r))
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return out + ["", "How sure: the confidence word of the Recommendation below, with the pick's in-domain lead "
                      "over the runner-up (95 % CI, paired prompts and seeds; wider where `sweep decide` looked "
                      "more than once) or, without a runner-up, its own in-domain score.", ""]


def _pick(r: Recommendation, x_key: str) -> str:
    return "none" if r.point is None else f"**{point_label(r.point, x_key)}**"


def word(r: Recommendation) -> str:
    """The confidence in one word: high, medium, low, unknown, or none where no point is named."""
    first = r.confidence.split(":", 1)[0].strip()
    if r.point is None:
        return "none"
    return first if first in WORDS else "only candidate"


def how_sure(r: Recommendation, x_key: str) -> str:
    w = word(r)
    if r.point is None:
        return w
    lead = r.lead
    if lead is not None and lead.estimate.ci_low is not None:
        e = lead.estimate
        level = "" if abs(lead.level - (1 - ALPHA)) < 1e-9 else f" ({ci_name(lead.level)})"
        return (f"{w}: lead over {point_label(lead.runner, x_key)} {e.value:+.3f} "
                f"[{e.ci_low:+.3f}, {e.ci_high:+.3f}]{level}")
    ci = r.point.in_ci
    if ci is not None and ci.ci_low is not None:
        return f"{w}: in-domain {r.point.in_domain:.3f} [{ci.ci_low:.3f}, {ci.ci_high:.3f}]"
    return w


def why(r: Recommendation, base: Optional[Point], keep_general: float) -> str:
    """The reason in one line: the rule that picked the point, or the first clause of why none was named."""
    if r.point is None:
        return _first_clause(r.reason)
    score = f"best in-domain score ({r.point.in_domain:.3f})"
    if r.scenario == "S2":
        return f"{score}; general ability ignored"
    if base is None:
        return f"{score}; no base model general score to keep"
    keep = (f"keep at least {keep_general:.0%}" if base.gen_higher_is_better
            else f"stay within {1 / keep_general:.0%}")
    floor = general_floor(base, keep_general)
    return f"{score} among points that {keep} of the base model's general score ({floor:.3f})"


def surer(r: Recommendation) -> str:
    """What would make the pick surer: more prompts, more seeds, or the decide step that adds seeds where they
    could change the pick; where no point is named, the remedy its reason gives."""
    if r.point is None:
        out = _remedy(r.reason)
    elif word(r) == "high":
        out = "nothing: the lead holds"
    elif r.point.seeds < 2 or (r.lead is not None and r.lead.runner.seeds < 2):
        out = f"more seeds per point (one each now): {SEEDS}"
    else:
        out = _prompts_or_seeds(r)
    if r.notes:
        out += (f"; {len(r.notes)} better point{'s' * (len(r.notes) > 1)} undetermined on the general floor: "
                "more held-out general prompts")
    return out


def _prompts_or_seeds(r: Recommendation) -> str:
    """More in-domain prompts where they would decide the lead at a practical count; more seeds where today's
    prompts would already do at the lead's size (the seeds' few degrees of freedom hold it back) or where no
    count of prompts would."""
    lead = r.lead
    if lead is None or lead.estimate.ci_low is None:
        return f"per-prompt scores (samples.jsonl) and more seeds per point: {SEEDS}"
    e = lead.estimate
    need = prompts_to_decide(e, lead.tests, level=lead.level)
    if need is not None and e.n < need <= PRACTICAL * e.n:
        return f"about {need} in-domain prompts (now {e.n}; eval.in_domain_samples), or more seeds: {SEEDS}"
    return f"more seeds per point: {SEEDS}"


def _first_clause(reason: str) -> str:
    cut = min((i for i in (reason.find("; "), reason.find(": "), reason.find(" (")) if i > 0), default=len(reason))
    return reason[:cut]


def _remedy(reason: str) -> str:
    """The reason's own remedy: its last clause after "; ", else its closing parenthesis."""
    if "; " in reason:
        return reason.rsplit("; ", 1)[1]
    if reason.endswith(")") and " (" in reason:
        return reason.rsplit(" (", 1)[1][:-1]
    return "see the Recommendation below"
