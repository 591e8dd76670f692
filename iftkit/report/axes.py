"""Which scorer drives the report and which general suite carries the general axis.

Held-out general: suites no training row touched (lm-eval tasks, IFBench, the forgetting suite, the
instruction set); trained-family general: the catalog families' test rows. The axis follows a rule
fixed in code (AXIS_RULE) unless sweep.general_scorer names one.
"""

from dataclasses import dataclass
from typing import Optional, Union

from iftkit.evaluation.forgetting import FORGETTING
from iftkit.evaluation.scorers import REFERENCE_BASED, TASK_CHECKER, is_judge, playing, plays
from iftkit.meta.judge_trust import Trust, Trusts, as_trusts, output_kind
from iftkit.report.points import ALL_TASKS, BASE, suite_rows

TRAINED_GENERAL = "general"  # the catalog families' test rows: the general training pool's families
HELD_OUT = "held_out"  # the general instruction set
NLL = "nll"  # the forgetting suite's measure (scorers/likelihood.py)
LM_EVAL_PREFIX = "lm_eval/"
# metric of an lm-eval task that carries the axis when the recipe names none, in this order: a rule
# fixed in code and stated in every report (AXIS_RULE), not a choice made per sweep. Strict before
# lenient, unnormalised before length-normalised: fine-tuning on short answers changes answer
# lengths, which acc_norm rewards apart from ability. (This order was first written after one
# quickstart measurement, acc +0.02 vs acc_norm +0.31; the report's robustness line shows the
# recommendation under every other axis, so no single choice carries it unseen.)
LM_EVAL_PREFERRED = ("prompt_level_strict_acc", "acc", "acc_norm", "exact_match", "f1")
IFBENCH = "ifbench"  # IFBench's test prompts (evaluation/suites.py), verifier-scored
# IFBench's metric on the axis, in this order. Prompt-level loose first: it is the headline of IFBench's
# paper, and loose forgives a leading "Sure, here is..." line and markdown asterisks, the surface a LoRA
# mix changes apart from following the constraint, so the axis reads forgetting more than format.
# Prompt level (0/1, every constraint met) before the per-prompt share of constraints.
IFBENCH_PREFERRED = ("ifbench_prompt_loose", "ifbench_prompt_strict", "ifbench_inst_loose", "ifbench_inst_strict")
AXIS_RULE = (
    "rule fixed in code: the first held-out benchmark (an lm-eval task, metric strict before lenient and "
    "unnormalised before length-normalised; then IFBench, prompt-level loose accuracy, its paper's headline), "
    "else the forgetting suite's reference-answer NLL (when eval.suites asks for it), "
    "else the held-out instruction set under the first of the primary scorer, an LLM judge that is not the base "
    "model judging itself, embedding, chrF, ROUGE, BLEU, exact match"
)


def is_held_out(suite: str) -> bool:
    return suite in (HELD_OUT, IFBENCH, FORGETTING) or suite.startswith(LM_EVAL_PREFIX)


def _axis_order(pair: tuple) -> tuple:
    """Held-out before trained-family; lm-eval tasks, then IFBench (hundreds of prompts each), then the
    forgetting suite's NLL, then the instruction set; within each, the metric order of LM_EVAL_PREFERRED or
    IFBENCH_PREFERRED."""
    suite, scorer = pair
    if suite == IFBENCH:
        return (False, 1, IFBENCH_PREFERRED.index(scorer) if scorer in IFBENCH_PREFERRED else len(IFBENCH_PREFERRED))
    if suite == FORGETTING:
        return (False, 2, 0 if scorer == NLL else 1)
    rank = LM_EVAL_PREFERRED.index(scorer) if scorer in LM_EVAL_PREFERRED else len(LM_EVAL_PREFERRED)
    return (suite == TRAINED_GENERAL, 0 if suite.startswith(LM_EVAL_PREFIX) else 3, rank)


def _covered(rows, suite, scorer) -> bool:
    """The base model and at least one trained cell have a suite-level mean."""
    got = suite_rows(rows, suite, scorer)
    return BASE in got and any(c != BASE for c in got)


def general_axes(rows: list[dict]) -> list[tuple]:
    """Every (suite, scorer) that can serve as a general axis: held-out ones first (lm-eval tasks, IFBench,
    the instruction set: _axis_order), then trained-family general."""
    pairs = []
    for r in rows:
        pair = (r.get("suite"), r.get("scorer"))
        if (
            r.get("task") == ALL_TASKS
            and (is_held_out(pair[0] or "") or pair[0] == TRAINED_GENERAL)
            and pair not in pairs
        ):
            pairs.append(pair)
    return sorted((p for p in pairs if _covered(rows, *p)), key=_axis_order)


def choose_general(
    rows: list[dict], kind: str, requested: Optional[str], primary: str, self_judge: bool = False
) -> tuple[str, str, str]:
    """(suite, scorer, why) of the general axis the chart and S1's keep_general rule read.

    kind: "held_out" (default) or "trained"; requested: sweep.general_scorer, "SUITE:SCORER" or
    "SCORER". Held-out general prefers an lm-eval task, then IFBench, then the forgetting NLL, then the
    instruction set under the primary scorer or a reference-based one (AXIS_RULE; self_judge: the judge is
    the base model itself, never an axis); with none of them it falls back to trained-family general."""
    axes = general_axes(rows)
    if requested:
        suite, _, scorer = requested.rpartition(":")
        if suite:
            if (suite, scorer) in axes:
                return suite, scorer, f"`{scorer}` on `{suite}`, from sweep.general_scorer"
        else:
            for sname, sc in axes:
                if sc == scorer and (is_held_out(sname) == (kind == "held_out")):
                    return sname, sc, f"`{sc}` on `{sname}`, from sweep.general_scorer"
        why = f"sweep.general_scorer `{requested}` has no base-model and adapter scores; "
    else:
        why = ""
    if kind == "trained" or not any(is_held_out(s) for s, _ in axes):
        if kind == "held_out":
            why += "no held-out general suite was scored (add eval.lm_eval tasks or the held_out suite); "
        if _covered(rows, TRAINED_GENERAL, primary):
            return (
                TRAINED_GENERAL,
                primary,
                why + f"`{primary}` on trained-family general (catalog families' test rows)",
            )
        return TRAINED_GENERAL, primary, why + "no general scores"
    for suite, scorer in axes:
        if suite.startswith(LM_EVAL_PREFIX):
            return suite, scorer, why + f"held-out general: lm-eval `{suite[len(LM_EVAL_PREFIX) :]}`, metric `{scorer}`"
    for suite, scorer in axes:
        if suite == IFBENCH and scorer in IFBENCH_PREFERRED:
            return suite, scorer, why + f"held-out general: IFBench, scored by its verifiers, metric `{scorer}`"
    if (FORGETTING, NLL) in axes:
        return FORGETTING, NLL, why + "held-out general: NLL of the forgetting suite's reference answers"
    for scorer in (primary,) + fallback_scorers(self_judge):
        if (HELD_OUT, scorer) in axes:
            return HELD_OUT, scorer, why + f"held-out general: the instruction set, scored by `{scorer}`"
    suite, scorer = next(a for a in axes if is_held_out(a[0]))
    return suite, scorer, why + f"held-out general: `{scorer}` on `{suite}`"


def fallback_scorers(self_judge: bool = False) -> tuple:
    """The reference-based scorers, preferred first: when the sweep's primary scorer has no in-domain scores
    (a free-text user task has no task checker), the first of these that scored both suites carries the
    report. Without the judge when it is the base model grading itself (eval.judge backend local, model
    base): a model under test judging its own kind is no independent axis."""
    return tuple(s for s in playing(REFERENCE_BASED) if not (self_judge and is_judge(s)))


def suite_coverage(rows: list[dict], scorer: str) -> set:
    """Suites in which `scorer` has a suite-level mean for at least one trained cell."""
    return {
        r["suite"]
        for r in rows
        if r.get("scorer") == scorer
        and r.get("task") == ALL_TASKS
        and r.get("mean") is not None
        and r.get("cell") != BASE
    }


def choose_primary(
    rows: list[dict], requested: str, in_suite="in_domain", gen_suite="general", target_kind: Optional[str] = None
) -> tuple[Optional[str], str]:
    """(scorer that drives the report, why it is that one), naming a missing requested scorer."""
    both = {in_suite, gen_suite}
    covered = suite_coverage(rows, requested)
    if both <= covered:
        return requested, f"`{requested}`, from sweep.primary_scorer"
    fallback = fallback_scorers()
    if in_suite in covered and not any(both <= suite_coverage(rows, s) for s in fallback):
        return None, (f"`{requested}` scored only the in-domain suite: a recommendation weighs it against "
                      f"general ability, and eval.suites ran no general suite")
    if target_kind == "free_text":
        why = f"`{requested}` has no in-domain scores: the target is a free-text task, which has no task checker"
    elif plays(requested, TASK_CHECKER):
        why = f"`{requested}` has no in-domain scores (the target task has no checker, or eval.scorers left it out)"
    else:
        why = f"`{requested}` has no in-domain and general scores (is it in eval.scorers?)"
    for s in fallback:
        if both <= suite_coverage(rows, s):
            return s, f"{why}; the primary scorer is the reference-based `{s}` instead"
    return None, f"{why}, and no reference-based scorer ({', '.join(fallback)}) scored both suites"


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


def choose_axes(rows, requested: str, meta: dict, general_kind: str, general_scorer: Optional[str],
                judge_trust: Union[Trust, Trusts, None]) -> Axes:
    """The primary scorer and the general axis (choose_primary / choose_general above), with a judge the
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


@dataclass(frozen=True)
class ReportSpec:
    """How a report reads a sweep's rows: its name, the swept key, and the recipe's sweep.* reading choices."""

    name: str
    x_key: str
    primary: str  # sweep.primary_scorer
    keep_general: float  # sweep.keep_general: S1's general floor as a share of the base model's
    general_kind: str = "held_out"  # sweep.general_kind / sweep.general_scorer: the general axis
    general_scorer: Optional[str] = None
    equivalence_margin: Optional[float] = None  # sweep.equivalence_margin, behind every "as good" (None: 2 %)

    @classmethod
    def of(cls, recipe, x_key: str) -> "ReportSpec":
        sweep = recipe.sweep
        return cls(recipe.name, x_key, sweep.primary_scorer, sweep.keep_general, sweep.general_kind,
                   sweep.general_scorer, sweep.equivalence_margin)
