"""From a sweep's result rows to tradeoff points and a recommended ratio.

A point is one grid value (seeds pooled) at one adapter scale (see report/scales.py): its
in-domain score (target suite) and general score (general suite), each as mean and spread across
seeds, for one scorer. S1 picks the best in-domain point that keeps at least `keep_general` of the
base model's general score; S2 picks the best in-domain point outright. "Best" follows the scorer's
direction (the results rows' higher_is_better), and so does the general floor. Every adapter answered
the same prompts as the base model, so differences are paired: intervals count the prompts
(paired) and each point's training seeds (stats.paired_difference), confidence words hold
family-wise (Holm over the comparisons a recommendation makes), and the report says in words
when the evidence cannot separate two points. The seed-to-seed variance is pooled over the sweep's
points where their seeds vary alike (_pool_seeds, stats.pool_seeds).
"""

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import stats as sps

from iftkit.core.stats import (
    Estimate,
    ScoreScale,
    SeedPool,
    _seed_parts,
    holm,
    mean_interval,
    paired_difference,
    pool_seeds,
    prompts_to_decide,
)
from iftkit.evaluation.degenerate import count_degenerate
from iftkit.evaluation.forgetting import FORGETTING
from iftkit.evaluation.scorers import REFERENCE_BASED, TASK_CHECKER, is_judge, playing, plays

ALL_TASKS = "__all__"
BASE = "base"
ALPHA = 0.05  # family-wise error rate of every confidence word
SPREAD_EPS = 1e-9  # a seed spread below this share of the scores is rounding, not a measurement


@dataclass
class Point:
    x: object  # grid value (ratio or n), or "base"
    series: str  # other grid values, "" when the grid has one key
    in_domain: float
    general: float
    in_sd: float = 0.0
    gen_sd: float = 0.0
    seeds: int = 1
    cells: list = field(default_factory=list)
    # per-prompt scores, suite -> seeds x prompts (NaN = not scored), aligned across points
    scores: dict = field(default_factory=dict)
    in_ci: Optional[Estimate] = None  # mean with a 95 % CI over prompts (and seeds)
    gen_ci: Optional[Estimate] = None
    identical: Optional[tuple] = None  # (outputs identical to the base model's, outputs compared)
    # S1: True = general score shown above the floor, False = shown below, None = undetermined
    # (95 % confidence, Holm over the points); from point estimates when no per-prompt scores
    keeps_general: Optional[bool] = None
    general_margin: Optional[Estimate] = None  # general - keep_general x base general, paired
    adapter_scale: Optional[float] = None  # the adapter's LoRA deltas times this (1 = as trained; None: base)
    # in-domain answers the generation length limit cut, seeds pooled: (cut, answers, limit); None = not recorded
    truncated: Optional[tuple] = None
    degenerate: Optional[tuple] = None  # (answers empty or one repeated piece, answers): evaluation/degenerate.py
    # training step of the adapter scored, and the run's last (sweep.checkpoints; None: not tracked)
    step: Optional[int] = None
    final_step: Optional[int] = None
    # direction of the in-domain and the general scorer (their results rows' higher_is_better)
    higher_is_better: bool = True
    gen_higher_is_better: bool = True
    # what the in-domain and the general scorer declare about one value (type and range): the intervals' method
    in_scale: ScoreScale = field(default_factory=ScoreScale)
    gen_scale: ScoreScale = field(default_factory=ScoreScale)
    # suite axis -> one cluster id per prompt (family, template or source), aligned with scores; None: independent
    clusters: dict = field(default_factory=dict)
    # suite axis -> the sweep's pooled training-seed variance where this point is one of the pooled points
    seed_pool: dict = field(default_factory=dict)

    def scale(self, axis: str) -> ScoreScale:
        return self.in_scale if axis == "in_domain" else self.gen_scale

    @property
    def is_base(self) -> bool:
        return self.x == BASE

    @property
    def key(self) -> tuple:
        return self.x, self.series, self.adapter_scale, self.step

    @property
    def is_checkpoint(self) -> bool:
        """An adapter as it was before the end of its training (sweep.checkpoints)."""
        return self.step is not None and self.final_step is not None and self.step < self.final_step

    @property
    def tag(self) -> str:
        """The point in words: its grid value, its adapter scale when not as trained, its series."""
        scale = f" at adapter_scale={self.adapter_scale:g}" if self.adapter_scale not in (None, 1.0) else ""
        scale += f" at step {self.step}/{self.final_step}" if self.is_checkpoint else ""
        return f"{self.x}{scale}" + (f" ({self.series})" if self.series else "")


def oriented(p: Point, axis: str = "in_domain") -> float:
    """The point's score on `axis`, signed so that larger is better whatever its scorer's direction."""
    if axis == "in_domain":
        return p.in_domain if p.higher_is_better else -p.in_domain
    return p.general if p.gen_higher_is_better else -p.general


def direction(higher_is_better: bool) -> str:
    return "higher is better" if higher_is_better else "lower is better"


def is_higher_better(rows: list[dict], scorer: str) -> bool:
    """The direction the results rows give `scorer` (higher unless a row says otherwise)."""
    return all(r.get("higher_is_better") is not False for r in rows if r.get("scorer") == scorer)


def general_floor(base: Point, keep_general: float) -> float:
    """S1's general floor: keep_general of the base model's general score, or, when lower is better
    on the general axis, the base score divided by keep_general (a 90 % rule allows 111 % of it)."""
    return keep_general * base.general if base.gen_higher_is_better else base.general / keep_general


def floor_label(base: Point, keep_general: float) -> str:
    """The S1 floor in words, for the charts' legends."""
    share = keep_general if base.gen_higher_is_better else 1 / keep_general
    return f"S1 floor: {share:.0%} of base general"


def _mean_sd(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, sd


def suite_means(rows: list[dict], scorer: str) -> dict:
    """{cell label: {suite: mean}} from the suite-level (task == __all__) rows of one scorer."""
    out: dict = {}
    for r in rows:
        if r.get("scorer") == scorer and r.get("task") == ALL_TASKS and r.get("mean") is not None:
            out.setdefault(r["cell"], {})[r["suite"]] = r["mean"]
    return out


def suite_rows(rows: list[dict], suite: str, scorer: str) -> dict:
    """{cell label: suite-level row} of one suite and scorer."""
    return {
        r["cell"]: r
        for r in rows
        if r.get("suite") == suite
        and r.get("scorer") == scorer
        and r.get("task") == ALL_TASKS
        and r.get("mean") is not None
    }


# --- the general axis: held-out general (suites no training row touched) or trained-family ---

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


def points(
    rows: list[dict],
    scorer: str,
    x_key: str,
    in_suite="in_domain",
    gen_suite="general",
    gen_scorer: Optional[str] = None,
) -> list[Point]:
    """One point per grid value: in-domain = `scorer` on in_suite, general = gen_scorer (default
    `scorer`) on gen_suite. A one-seed point takes its row's CI (an lm-eval stderr, or the eval's
    bootstrap) until per-prompt scores replace it."""
    ins, gens = suite_rows(rows, in_suite, scorer), suite_rows(rows, gen_suite, gen_scorer or scorer)
    meta = {r["cell"]: r for r in rows}
    groups: dict = {}
    for cell in ins.keys() & gens.keys():
        m = meta[cell]
        if cell == BASE:
            key = (BASE, "", None, None)
        else:
            values = m.get("grid") or {}
            series = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(values.items()) if k != x_key)
            key = (values.get(x_key), series, m.get("adapter_scale") or 1.0, m.get("step"))  # before scales: 1
        groups.setdefault(key, []).append((cell, ins[cell], gens[cell]))
    pts = []
    for (x, series, scale, step), members in groups.items():
        members.sort(key=lambda m: str(m[0]))
        in_m, in_sd = _mean_sd([m[1]["mean"] for m in members])
        gen_m, gen_sd = _mean_sd([m[2]["mean"] for m in members])
        p = Point(x, series, in_m, gen_m, in_sd, gen_sd, len(members), [m[0] for m in members], adapter_scale=scale,
                  truncated=_truncated([m[1] for m in members]), step=step,
                  final_step=meta[members[0][0]].get("final_step"),
                  higher_is_better=members[0][1].get("higher_is_better") is not False,
                  gen_higher_is_better=members[0][2].get("higher_is_better") is not False,
                  in_scale=row_scale(members[0][1]), gen_scale=row_scale(members[0][2]))
        if len(members) == 1:
            p.in_ci, p.gen_ci = _row_ci(members[0][1]), _row_ci(members[0][2])
        pts.append(p)
    pts.sort(key=lambda p: (p.is_base is False, p.series, -(p.adapter_scale or 0), _sortable(p.x), p.step or 0))
    return pts


def row_scale(row: dict) -> ScoreScale:
    """What a results row's scorer declares: its "values" (binary / continuous) and "scale". Rows written
    before "values" existed read as continuous: never a method guessed from the data's range."""
    return ScoreScale.declared(row.get("values"), row.get("scale"))


def _truncated(rows: list[dict]) -> Optional[tuple]:
    known = [r for r in rows if r.get("n_truncated") is not None]
    if not known:
        return None
    limits = {r.get("max_new_tokens") for r in known} - {None}
    return (sum(r["n_truncated"] for r in known), sum(r.get("n_answers") or 0 for r in known),
            max(limits) if limits else None)


def _row_ci(row: dict) -> Optional[Estimate]:
    if row.get("ci_low") is None or row.get("ci_high") is None:
        return None
    return Estimate(row["mean"], row["ci_low"], row["ci_high"], int(row.get("n") or 0), note="from the results row")


def _sortable(x):
    return (0, x) if isinstance(x, (int, float)) else (1, str(x))


@dataclass
class Recommendation:
    scenario: str
    point: Optional[Point]
    reason: str
    confidence: str
    tied: list = field(default_factory=list)  # points the evidence cannot separate from `point`
    # of those, the ones shown within +-margin of it (TOST): only these are "as good" / "would save"
    equivalent: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # S1: undetermined points that would beat the pick


# --- paired statistics over the prompts every model answered -------------------------------


def attach_samples(
    pts: list[Point],
    samples: dict,
    scorer: str,
    suites=("in_domain", "general"),
    general: Optional[tuple] = None,
    clusters: Optional[dict] = None,
) -> None:
    """Give each point its per-prompt scores (seeds x prompts, aligned across points) and CIs.

    samples: {cell label: {(suite, sample_id): (prediction, scores)}}, the base model as "base".
    general: (suite, scorer) read for the "general" axis when it is not `scorer` on suite general.
    clusters: {(suite, sample_id): cluster id} for prompts that share a family, template or source
    (missing: the prompts of that suite count as independent); intervals are then cluster-robust.
    Where no prompt has a score (lm-eval rows of a harness run without per-document results),
    the point keeps its row's CI and the comparisons fall back to point estimates.
    """
    base_preds = samples.get(BASE, {})
    for axis in suites:
        suite, sc = general if (axis == "general" and general) else (axis, scorer)
        ids = sorted({k[1] for cell in samples.values() for k in cell if k[0] == suite})
        for p in pts:
            rows = [[_score(samples.get(c, {}).get((suite, i)), sc) for i in ids] for c in p.cells]
            p.scores[axis] = np.array(rows, dtype=float).reshape(len(p.cells), len(ids))
            if not np.isfinite(p.scores[axis]).any():
                p.scores[axis] = np.zeros((len(p.cells), 0))
            known = [clusters.get((suite, i)) for i in ids] if clusters else []
            p.clusters[axis] = (np.array([str(c) for c in known], dtype=object)
                                if known and all(c is not None for c in known) and p.scores[axis].size else None)
        _pool_seeds(pts, axis)
    for p in pts:
        p.in_ci = mean_ci(p, "in_domain") or p.in_ci
        p.gen_ci = mean_ci(p, "general") or p.gen_ci
        # the forgetting suite generates nothing (its records' prediction is ""): no answers to count
        p.degenerate = count_degenerate(pred for c in p.cells for key, (pred, _) in samples.get(c, {}).items()
                                        if key[0] != FORGETTING)
        if not p.is_base and base_preds:
            same = total = 0
            for c in p.cells:
                for key, (pred, _) in samples.get(c, {}).items():
                    if key in base_preds and key[0] != FORGETTING:
                        total += 1
                        same += pred == base_preds[key][0]
            p.identical = (same, total)


def _pool_seeds(pts: list[Point], axis: str) -> None:
    """The one place the sweep's seed variance is pooled, per axis (one suite and scorer): over the points that
    are independent training runs with 2+ seeds (final adapters as trained, and the base model where it has
    seeds; not checkpoints or rescalings, which share their adapter's seeds). Each member gets the SeedPool;
    stats.pool_seeds checks that their seeds vary alike and the comparisons fall back to per-point terms if not."""
    members, arrays = [], []
    for p in pts:
        a = p.scores.get(axis)
        if p.is_checkpoint or p.adapter_scale not in (None, 1.0) or a is None or a.shape[0] < 2:
            continue
        a = a[:, np.isfinite(a).all(0)]  # the prompts every seed of this point scored
        if a.shape[1]:
            members.append(p)
            arrays.append(a)
    pool = pool_seeds(arrays)
    ids = {id(p) for p in members}
    for p in pts:
        p.seed_pool[axis] = pool if id(p) in ids else None


def pool_words(pts: list[Point], label=None) -> list[str]:
    """The report's sentence on the seed-variance pool, once per axis that has one, and where the pool is used,
    the points whose own seeds vary more than it: their intervals rest on their own few seeds (_seed_term's
    guard, which the calibration needs where one point's seeds vary far more), so say why and what narrows them.
    label: a point's name in the report (default its tag)."""
    label = label or (lambda p: p.tag)
    out = []
    for axis, what in (("in_domain", "In-domain"), ("general", "General")):
        pool: Optional[SeedPool] = next((p.seed_pool.get(axis) for p in pts if p.seed_pool.get(axis)), None)
        if pool is None:
            continue
        # blank lines around each: a Markdown paragraph and list of its own, not run into the one before
        out += ["", f"{what}: {pool.words()}"]
        own = _own_spread_words(pts, axis, pool, label) if bool(pool.used) else []
        out += ["", *own] if own else []
    return out


def _own_spread_words(pts: list[Point], axis: str, pool: SeedPool, label) -> list[str]:
    out = []
    for p in pts:
        a = p.scores.get(axis)
        if p.seed_pool.get(axis) is not pool or a is None or not a.size:
            continue
        a = a[:, np.isfinite(a).all(0)]
        if float(_seed_parts(a)[0]) <= float(pool.rows):  # _seed_term's guard, for this point alone
            continue
        means = a.mean(-1)
        seeds = ", ".join(f"{m:.3f}" for m in means)
        out.append(f"- {label(p)}: its {len(means)} seeds ({seeds}) vary more than the pool's, so its interval rests "
                   f"on its own seeds ({len(means) - 1} degree{'s' * (len(means) > 2)} of freedom, not the pool's "
                   f"{pool.df}); another seed narrows it (`iftkit sweep decide` adds seeds where they could change "
                   f"a pick).")
    return out


def _score(entry, scorer):
    if entry is None:
        return math.nan
    v = entry[1].get(scorer)
    return math.nan if v is None else float(v)


def mean_ci(p: Point, suite: str) -> Optional[Estimate]:
    a = p.scores.get(suite)
    if a is None or not a.size:
        return None
    return mean_interval(a, scale=p.scale(suite), clusters=p.clusters.get(suite), pool=p.seed_pool.get(suite))


def diff(p: Point, q: Point, suite: str, q_weight: float = 1.0) -> Optional[Estimate]:
    """p minus q_weight x q on the prompts both answered, each side's seeds counted (swap-invariant; from the
    sweep's pooled seed variance where both are pooled points)."""
    a, b = p.scores.get(suite), q.scores.get(suite)
    if a is None or b is None or not a.size or not b.size:
        return None
    return paired_difference(a, b, b_weight=q_weight, scale=p.scale(suite), clusters=p.clusters.get(suite),
                             pools=(p.seed_pool.get(suite), q.seed_pool.get(suite)))


def recommend(pts: list[Point], keep_general: float, margin: Optional[float] = None,
              alpha: float = ALPHA) -> list[Recommendation]:
    """S1: the best in-domain point whose general score is shown above the general floor (95 %
    confidence, Holm over the points); undetermined points that would beat it are named with the
    test size that would decide them. S2: the best in-domain point and the points tied with it.
    Best is the highest score, or the lowest where the scorer says lower is better.

    Checkpoints (sweep.checkpoints) are a second stage: S1 and S2 are decided on the final adapters
    first; a checkpoint then takes a pick's place only where it is shown to lead it (Holm over the
    checkpoints), so turning checkpoints on never removes a pick the final adapters support.
    margin: the equivalence margin behind "as good" (score units; None: 2 % of the declared scale).
    Without per-prompt scores (a results table alone) the rules fall back to the point estimates.
    alpha: the family-wise error rate of every test; lower where the data are looked at more than once
    (sweep/decide.py spends ALPHA over its looks).
    """
    base = next((p for p in pts if p.is_base), None)
    cells = [p for p in pts if not p.is_base]
    if not cells:
        return [Recommendation(s, None, "no trained cells yet", "none") for s in ("S1", "S2")]
    finals = [p for p in cells if not p.is_checkpoint]
    checkpoints = [p for p in cells if p.is_checkpoint] if finals else []
    recs = _recommend(base, finals or cells, keep_general, margin, alpha)
    if checkpoints:
        if base is not None and not math.isnan(base.general):
            _floor_tests(checkpoints, base, keep_general, alpha)
        recs = [_checkpoint_stage(r, checkpoints, margin, alpha) for r in recs]
    return recs


def _floor_tests(cells: list[Point], base: Point, keep_general: float, alpha: float = ALPHA) -> list[Point]:
    """Set each point's general margin over the S1 floor and keeps_general (Holm over `cells`); the points
    tested with per-prompt scores."""
    up = base.gen_higher_is_better
    floor = general_floor(base, keep_general)
    tested = []
    for p in cells:
        # the margin is the general score minus the floor, paired by prompt: above 0 keeps it when
        # higher is better, below 0 when lower is
        p.general_margin = diff(p, base, "general", keep_general if up else 1 / keep_general)
        if p.general_margin is not None and p.general_margin.p_value is not None:
            tested.append(p)
        else:
            p.keeps_general = p.general >= floor if up else p.general <= floor
    for p, adjusted in zip(tested, holm([p.general_margin.p_value for p in tested])):
        kept = p.general_margin.value > 0 if up else p.general_margin.value < 0
        p.keeps_general = kept if adjusted < alpha else None
    return tested


def _recommend(base: Optional[Point], cells: list[Point], keep_general: float,
               margin: Optional[float], alpha: float = ALPHA) -> list[Recommendation]:
    """S1 and S2 among `cells` (the final adapters)."""
    recs = []
    best_word = "highest" if cells[0].higher_is_better else "lowest"
    if base is not None and not math.isnan(base.general):
        floor, up = general_floor(base, keep_general), base.gen_higher_is_better
        stays = (f">= {keep_general:.0%} of the base model's ({floor:.3f})" if up else
                 f"<= {1 / keep_general:.0%} of the base model's ({floor:.3f}; lower is better)")
        why = f"{best_word} in-domain among points whose general score stays {stays}"
        tested = _floor_tests(cells, base, keep_general, alpha)
        eligible = [p for p in cells if p.keeps_general]
        if tested:
            side, other = ("above", "below") if up else ("below", "above")
            why += (f", shown {side} it with 95 % confidence (paired prompts and each point's seeds, Holm-corrected "
                    f"over the {len(tested)} points tested; the others are shown {other} it or undetermined)")
    else:
        eligible, why, tested = cells, f"{best_word} in-domain (no base model general score to compare against)", []
    best = max(eligible, key=oriented) if eligible else None
    notes = _undetermined(cells, best, len(tested))
    keeps = (f">= {keep_general:.0%} of" if base is None or base.gen_higher_is_better
             else f"<= {1 / keep_general:.0%} of")
    if best is not None:
        tied, conf, same = _separation(best, eligible, margin, alpha)
        recs.append(Recommendation("S1", best, why, conf, tied, equivalent=same, notes=notes))
    else:
        recs.append(
            Recommendation(
                "S1",
                None,
                f"no point keeps {keeps} the base general score with "
                f"95 % confidence{_holm_over(len(tested))}; use the base model, a smaller ratio, or more test prompts",
                "n/a",
                notes=notes,
            )
        )
    best2 = max(cells, key=oriented)
    tied, conf, same = _separation(best2, cells, margin, alpha)
    recs.append(Recommendation("S2", best2, f"{best_word} in-domain score, general ability ignored", conf, tied,
                               equivalent=same))
    return recs


def _checkpoint_stage(rec: Recommendation, checkpoints: list[Point], margin: Optional[float],
                      alpha: float = ALPHA) -> Recommendation:
    """The second stage: the checkpoints (S1: those shown above the floor, Holm over the checkpoints) against
    the final adapters' pick. One shown to lead it takes its place; the others join its tied / equivalent
    lists. Without a pick from the final adapters, the best eligible checkpoint is picked among the
    checkpoints alone."""
    pool = [c for c in checkpoints if rec.scenario == "S2" or c.keeps_general]
    if not pool:
        return rec
    if rec.point is None:
        if rec.scenario != "S1":
            return rec
        best = max(pool, key=oriented)
        tied, conf, same = _separation(best, pool, margin, alpha)
        why = ("no final adapter qualified; among the checkpoints shown above the floor (Holm-corrected over the "
               f"{len(checkpoints)} checkpoints), the {'highest' if best.higher_is_better else 'lowest'} in-domain")
        return Recommendation(rec.scenario, best, why, conf, tied, equivalent=same, notes=rec.notes)
    pick, sign = rec.point, (1 if rec.point.higher_is_better else -1)
    comps = [(c, e) for c in pool if (e := diff(c, pick, "in_domain")) is not None and e.p_value is not None]
    if not comps:  # no per-prompt scores: point estimates decide nothing here, the final pick stands
        return rec
    adjusted = holm([e.p_value for _, e in comps])
    leaders = [(c, e) for (c, e), a in zip(comps, adjusted) if a < alpha and sign * e.value > 0]
    family = f"Holm-corrected over {len(comps)} checkpoint{'s' if len(comps) != 1 else ''}"
    if leaders:
        c, e = max(leaders, key=lambda ce: oriented(ce[0]))
        conf = (f"medium: leads the final adapters' pick ({pick.tag}) in-domain by {e.value:.3f}, 95 % CI "
                f"[{e.ci_low:.3f}, {e.ci_high:.3f}], {family}; not compared with the other final adapters")
        return Recommendation(rec.scenario, c, rec.reason + f"; checkpoint stage: {c.tag} leads it", conf,
                              notes=rec.notes)
    tied = [c for (c, e), a in zip(comps, adjusted) if a >= alpha]
    same = _equivalent(pick, tied, margin, alpha)
    return Recommendation(rec.scenario, pick, rec.reason, rec.confidence, rec.tied + tied,
                          equivalent=rec.equivalent + same, notes=rec.notes)


def _margin(best: Point, margin: Optional[float]) -> Optional[float]:
    return margin if margin is not None else best.in_scale.default_margin()


def _equivalent(best: Point, others: list[Point], margin: Optional[float], alpha: float = ALPHA) -> list[Point]:
    """The points shown within +-margin of `best` in-domain (TOST at 95 %, Holm over `others`)."""
    m = _margin(best, margin)
    if m is None or not others:
        return []
    tests = [(p, e.equivalence_p(m)) for p in others if (e := diff(best, p, "in_domain")) is not None]
    tests = [(p, q) for p, q in tests if q is not None]
    if not tests:
        return []
    return [p for (p, _), a in zip(tests, holm([q for _, q in tests])) if a < alpha]


# a point whose in-domain answers the length limit cut more often than this is not named
MOSTLY_CUT = 0.5


def refuse_unseeing(recs: list[Recommendation], pts: list[Point], scorer: str) -> list[Recommendation]:
    """Recommendations that name no point where the scores cannot see the task: every trained point
    has the same in-domain score (all 0, or all tied), or the pick's answers were mostly cut by the
    generation length limit (its score measures the limit, not the adapter)."""
    cells = [p for p in pts if not p.is_base and not math.isnan(p.in_domain)]
    if len(cells) > 1 and max(p.in_domain for p in cells) - min(p.in_domain for p in cells) < 1e-9:
        why = (f"every trained point scores {cells[0].in_domain:.3f} in-domain on `{scorer}`: the scorer cannot "
               f"tell them apart on this task, so no point is named (check the answers in samples.jsonl, the "
               f"task kind, or score with another scorer)")
        return [Recommendation(r.scenario, None, why, "none") for r in recs]
    out = []
    for r in recs:
        cut = r.point.truncated if r.point is not None else None
        if cut and cut[1] and cut[0] > MOSTLY_CUT * cut[1]:
            why = (f"{r.point.tag} would be the pick, but {cut[0]} of {cut[1]} of its in-domain answers hit the "
                   f"{cut[2]}-token limit, so its score measures the limit, not the adapter; raise "
                   f"eval.in_domain_max_new_tokens and rerun (the sweep regenerates only the answers)")
            r = Recommendation(r.scenario, None, why, "none")
        out.append(r)
    return out


def _holm_over(tests: int) -> str:
    return f" (Holm-corrected over the {tests} points tested)" if tests > 1 else ""


def _undetermined(cells: list[Point], pick: Optional[Point], tests: int) -> list[str]:
    """S1's undetermined points that would beat the pick in-domain, and what would decide each."""
    notes = []
    for p in sorted(cells, key=lambda p: -oriented(p)):
        m = p.general_margin
        if p.keeps_general is not None or m is None or m.ci_low is None:
            continue
        if pick is not None and oriented(p) <= oriented(pick):
            continue
        need = prompts_to_decide(m, tests)
        if need is None:
            decide = ("its seeds disagree more than its margin: more seeds, not more prompts, would decide it"
                      if m.var_seed > 0 else "its estimate sits on the floor: no practical test size decides it")
        elif need > 1000 * m.n:
            decide = "its estimate sits almost on the floor: no practical test size decides it"
        else:
            decide = (f"about {need} held-out general prompts (now {m.n}) would decide it "
                      "(80 % power at its current estimate)")
        what = "would beat the pick in-domain" if pick is not None else "scores"
        # the interval printed is the point's own; the verdict is Holm-corrected over every point tested,
        # so an interval clear of 0 can still be undetermined: say so rather than look contradictory
        holm_note = f" before Holm's correction over {tests} points" if tests > 1 else ""
        notes.append(f"{p.tag} {what} ({p.in_domain:.3f}) but is undetermined on the general floor: margin "
                     f"{m.value:+.3f}, 95 % CI [{m.ci_low:+.3f}, {m.ci_high:+.3f}]{holm_note}; {decide}")
    return notes


def _separation(best: Point, pool: list[Point], margin: Optional[float] = None,
                alpha: float = ALPHA) -> tuple[list, str, list]:
    """Which points the evidence cannot tell apart from `best` on in-domain, said in words, and which of
    those it shows as good (within +-margin, TOST). "high" only when it leads every other point,
    Holm-corrected over those comparisons, with at least 2 seeds per point: one seed measures these two
    adapters on these prompts, not what retraining would give."""
    others = [p for p in pool if p is not best]
    if not others:
        return [], "only one candidate", []
    runner = max(others, key=oriented)
    d = diff(best, runner, "in_domain")
    if d is None or d.ci_low is None:
        return (*_seed_spread(best, others, alpha), [])
    sign = 1 if best.higher_is_better else -1  # a lead is a difference in the scorer's better direction
    comps = [(p, e) for p in others if (e := diff(best, p, "in_domain")) is not None and e.p_value is not None]
    adjusted = holm([e.p_value for _, e in comps])
    tied = [p for (p, e), a in zip(comps, adjusted) if a >= alpha or sign * e.value <= 0]
    family = f"Holm-corrected over {len(comps)} comparison{'s' if len(comps) != 1 else ''}"
    differ = f"; {d.differ_text()}" if d.differ_text() else ""
    lower = "" if best.higher_is_better else " (lower is better)"
    lead = (f"lead over the runner-up ({runner.tag}): {d.value:.3f}{lower}, 95 % CI [{d.ci_low:.3f}, "
            f"{d.ci_high:.3f}] over {d.n} paired prompts{differ}, seeds {d.seeds[0]} vs {d.seeds[1]}")
    one_seed = min(p.seeds for p in [best, *others]) < 2
    if not tied and one_seed:
        return [], (f"medium: these adapters differ in-domain on these prompts, {family} ({lead}), but with one "
                    "seed per point retraining variability was not measured: another training seed may rank them "
                    "otherwise; train 2 or more seeds per point to call the lead real"), []
    if not tied:
        return [], f"high: leads every other point in-domain, {family} ({lead}), so the lead is real", []
    names = ", ".join(p.tag for p in tied)
    why = f"low: the test set cannot separate it from {names} ({lead}"
    if (d.ci_low > 0) if sign > 0 else (d.ci_high < 0):
        why += f"; the CI excludes 0 but the lead does not hold {family}"
    why += ")"
    same, m = _equivalent(best, tied, margin, alpha), _margin(best, margin)
    if m is None:
        why += ("; no equivalence margin (the scale is unbounded and sweep.equivalence_margin is unset), so none "
                "is shown as good")
    elif len(same) == len(tied):
        why += (f"; any of them is as good on this evidence: each is shown within ±{m:.3g} of it (equivalence "
                f"test, TOST, Holm over {len(tied)})")
    elif same:
        why += (f"; {', '.join(p.tag for p in same)} shown within ±{m:.3g} of it (TOST); the others are neither "
                "separated from it nor shown as good")
    else:
        why += (f"; none is shown within ±{m:.3g} of it either (TOST), so neither a lead nor equivalence is "
                "established: more prompts or seeds would decide")
    if one_seed:
        why += "; one seed per point: retraining variability was not measured"
    elif min(d.seeds) <= 2 and d.seed_share > 0.5:
        why += (f". Most of that uncertainty is seed-to-seed ({d.seed_share:.0%}): {min(d.seeds)} seeds per point "
                "cannot support the claim; train 3 or more")
    return tied, why, same


def _seed_spread(best: Point, others: list[Point], alpha: float = ALPHA) -> tuple[list, str]:
    """Without per-prompt scores: Welch's t-test on the seed means, Holm over the others; never "high":
    the prompts' own sampling variability was not measured. Points whose seeds agree exactly borrow the
    spread pooled over every point; none measured at all decides nothing."""
    if best.seeds < 2:
        return [], "unknown: one seed per point and no per-prompt scores, so no uncertainty was measured"
    runner = max(others, key=oriented)
    spreads = [q.in_sd**2 for q in [best, *others] if q.seeds >= 2 and not math.isnan(q.in_sd)]
    pooled = math.sqrt(sum(spreads) / len(spreads)) if spreads else 0.0
    pvals = []
    for p in others:
        measured = max(best.in_sd, p.in_sd) > SPREAD_EPS * max(abs(best.in_domain), abs(p.in_domain), 1.0)
        sa, sb = (best.in_sd, p.in_sd) if measured else (pooled, pooled)
        if p.seeds < 2 or max(sa, sb) <= SPREAD_EPS * max(abs(best.in_domain), abs(p.in_domain), 1.0):
            pvals.append(1.0)  # no spread measured: no evidence either way
            continue
        t = sps.ttest_ind_from_stats(best.in_domain, sa, best.seeds, p.in_domain, sb, p.seeds, equal_var=False)
        pvals.append(float(t.pvalue))
    adjusted = holm(pvals)
    tied = [p for p, a in zip(others, adjusted) if a >= alpha or oriented(p) >= oriented(best)]
    lead = oriented(best) - oriented(runner)
    spread = math.sqrt(best.in_sd**2 + runner.in_sd**2)
    what = (f"leads the runner-up ({runner.tag}) by {lead:.3f} (seed spread {spread:.3f}; Welch's t on the seed "
            f"means, Holm-corrected over {len(others)} comparison{'s' if len(others) != 1 else ''}, no per-prompt "
            f"scores)")
    if tied:
        return tied, f"low: {what}, which does not separate it from {', '.join(p.tag for p in tied)}"
    if min([best.seeds] + [p.seeds for p in others]) < 3:
        return [], f"medium: {what}; 2 seeds per point are too few to call it high"
    return [], (f"medium: {what}; without per-prompt scores the test prompts' own sampling variability was not "
                "measured, so the lead is not called high")


def error_bars(group: list[Point], suite: str) -> list:
    """Asymmetric error bars: the CI where measured, else the seed spread."""
    lo, hi = [], []
    for p in group:
        mean, est, sd = (p.in_domain, p.in_ci, p.in_sd) if suite == "in_domain" else (p.general, p.gen_ci, p.gen_sd)
        if est is not None and est.ci_low is not None:
            lo.append(max(0.0, mean - est.ci_low))
            hi.append(max(0.0, est.ci_high - mean))
        else:
            lo.append(sd)
            hi.append(sd)
    return [lo, hi]
