"""No compute for scores nobody may use: the judge outputs a sweep leaves out.

The report keeps a judge output off the primary scorer and the general axis unless the trust gate
(meta/judge_trust.py) admits it, so an untrusted judge's rows decide nothing; yet a local judge over
long inputs is most of an evaluation's time. A sweep therefore evaluates without the judge scorers
the gate refuses (never measured with this output and prompt, or measured and failing), says so in
one line, and runs them again once eval.judge.run_untrusted is true or a passing measurement exists.

What the sweep leaves out changes no hash (nor does eval.judge.run_untrusted: config/identity.py
NOT_RESULT): a cell's identity is the recipe as the user wrote it, so a sweep finished before, with
judge rows, is still finished and collected, and the other scorers' caches are the same. Each point's
state record keeps the judges it was evaluated without; one the sweep runs now (a passing measurement
since, or run_untrusted turned on) makes the point evaluated again: its answers and other scores come
from its samples.jsonl, only the judge runs.
"""

from typing import Callable

from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.evaluation.evaluate import scorer_names
from iftkit.evaluation.scorers import judge_scorers, parent_of
from iftkit.meta.judge_trust import OUTPUTS, Trust, judge_trust, output_kind
from iftkit.sweep.preflight import check_target

RUN_ANYWAY = "set eval.judge.run_untrusted: true to run it anyway"
STATE_KEY = "judge_not_run"  # the judge scorers a point was evaluated without (sweep state record)


def listed_judges(recipe: Recipe) -> list[str]:
    """The judge scorers an eval of this recipe runs."""
    return [n for n in scorer_names(recipe) if n in judge_scorers()]


def judge_off(recipe: Recipe, log: Callable = print) -> dict[str, Trust]:
    """{judge scorer: its trust verdict} for each listed judge the gate keeps off every axis; {} when
    eval.judge.run_untrusted is true. A recipe naming eval.judge.trust_set measures the judge first,
    once, as the report would."""
    names = listed_judges(recipe)
    if not names or recipe.eval.judge.run_untrusted:
        return {}
    trusts = judge_trust(recipe, set(names), log=log)
    return {n: trusts.for_output(n) for n in names if not trusts.for_output(n).trusted}


def leave_out(recipe: Recipe, say: Callable = print) -> dict[str, Trust]:
    """What a sweep leaves out (judge_off), said in one line before anything runs; a sweep the left-out judge
    was the only in-domain scorer of stops here (IftkitError), as preflight stops one with none listed."""
    off = judge_off(recipe, say)
    if off:
        say(not_run_line(off))
        check_something_left(recipe, off)
        check_target(without_judges(recipe, off), say=None)
    return off


def judges_run(recipe: Recipe, off: dict) -> frozenset:
    """The judge scorers the sweep runs now."""
    return frozenset(n for n in listed_judges(recipe) if n not in off)


def why_off(trust: Trust) -> str:
    """Why the gate refuses it, and how to change that, in a few words."""
    if trust.agreement is None and trust.measured is None and trust.key:
        return "never measured against human judgments; `iftkit meta-eval --human FILE` measures it"
    reason = trust.reason.split(": never chosen")[0]
    return f"human agreement {trust.figure_text}: {reason}" if trust.agreement else reason


def describe(name: str, trust: Trust) -> str:
    return f"`{name}` ({trust.judge} as {OUTPUTS[output_kind(name)]}) is untrusted ({why_off(trust)})"


def not_run_line(off: dict) -> str:
    """The one line a sweep prints when it leaves judges out."""
    return f"[judge] not run: {'; '.join(describe(n, t) for n, t in off.items())}; {RUN_ANYWAY}"


def check_something_left(recipe: Recipe, off: dict) -> None:
    """A sweep whose only scorers are judges the gate refuses would train for nothing: one line, before it does."""
    if off and not [n for n in scorer_names(recipe) if n not in off]:
        raise IftkitError(f"eval.scorers: {', '.join(off)} only, and the judge trust gate refuses it "
                          f"({why_off(next(iter(off.values())))}); add a scorer that needs no judge (task, "
                          "embedding, lexical) or set eval.judge.run_untrusted: true")


def without_judges(recipe: Recipe, off: dict) -> Recipe:
    """The recipe the sweep evaluates with: its scorers spelled out, less the judges left off. A copy: the
    recipe's own hashes stay those of what the user wrote."""
    if not off:
        return recipe
    judge = recipe.eval.judge
    # the pairwise judge is asked for by a switch as well as by name
    judge = judge.model_copy(update={"pairwise": judge.pairwise and "judge_pairwise" not in off})
    kept = [n for n in scorer_names(recipe) if n not in off]
    return recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"scorers": kept, "judge": judge})})


def stale(entry: dict, run_now: frozenset) -> bool:
    """Whether a finished point was evaluated without a judge the sweep runs now."""
    return bool(set(entry.get(STATE_KEY) or ()) & run_now)


def report_lines(off: dict, scored: set) -> list[str]:
    """The report's words for each judge left out of every point (no row of its outputs)."""
    return [f"{describe(n, t)}: not run by this sweep, to spare its cost for scores the trust gate would keep off "
            f"every axis; {RUN_ANYWAY}." for n, t in off.items() if not any(parent_of(s) == n for s in scored)]
