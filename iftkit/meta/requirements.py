"""The paper's three scorer requirements, measured against a reference judgment.

CIT: within one task, does the scorer rank outputs (and models) like the reference does?
CAT: does a value mean the same on every task (pooled ranking, per-task calibration spread)?
TFA: does a correct answer phrased differently stay above a wrong answer in the right format?
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from iftkit.core import stats
from iftkit.meta.perturb import format_variants, wrong_variants


@dataclass
class ScorerReport:
    scorer: str
    cit_kendall: stats.Estimate
    cit_spearman: stats.Estimate
    cit_models: stats.Estimate
    cat_pooled: stats.Estimate
    cat_spread: stats.Estimate
    tfa: stats.Estimate = field(default_factory=lambda: stats.Estimate(None, note="not run"))
    per_task: dict = field(default_factory=dict)
    tfa_by_perturbation: dict = field(default_factory=dict)
    tfa_ties: Optional[float] = None
    pairwise: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {
            k: getattr(self, k).to_dict()
            for k in ("cit_kendall", "cit_spearman", "cit_models", "cat_pooled", "cat_spread", "tfa")
        }
        d.update(
            scorer=self.scorer,
            per_task=self.per_task,
            tfa_by_perturbation=self.tfa_by_perturbation,
            tfa_ties=self.tfa_ties,
            pairwise=self.pairwise,
        )
        return d


def _by_task(records, reference, scorer):
    """{task: (scorer values, reference values, model ids)} over samples where both are defined."""
    groups = defaultdict(lambda: ([], [], []))
    for r, ref in zip(records, reference):
        v = r.scores.get(scorer)
        if ref is None or v is None:
            continue
        g = groups[r.task]
        g[0].append(float(v))
        g[1].append(float(ref))
        g[2].append(hash(r.model_key) % (2**31))
    return {t: tuple(np.asarray(a, dtype=float) for a in g) for t, g in groups.items()}


def _mean_corr(fn):
    return lambda groups: stats.mean_defined(fn(g[0], g[1]) for g in groups)


def _models_tau(groups):
    taus = []
    for s, ref, model in groups:
        ids = np.unique(model)
        if len(ids) < 3:  # a rank correlation over two points says nothing
            continue
        ms = [s[model == m].mean() for m in ids]
        mr = [ref[model == m].mean() for m in ids]
        taus.append(stats.kendall(ms, mr))
    return stats.mean_defined(taus)


def _spread(lo: float, hi: float):
    width = (hi - lo) or 1.0

    def statistic(groups):
        levels = []
        for s, ref, _ in groups:
            good = s[ref >= 0.5]
            if len(good):
                levels.append((good.mean() - lo) / width)
        return float(np.std(levels)) if len(levels) >= 2 else None

    return statistic


def measure_scorer(records, reference, scorer: str, scale=None, resamples=stats.DEFAULT_RESAMPLES) -> ScorerReport:
    groups = _by_task(records, reference, scorer)
    glist = list(groups.values())
    pooled_s = np.concatenate([g[0] for g in glist]) if glist else np.array([])
    pooled_r = np.concatenate([g[1] for g in glist]) if glist else np.array([])
    if scale is None and len(pooled_s):
        scale = (float(pooled_s.min()), float(pooled_s.max()))
    lo, hi = scale or (0.0, 1.0)
    per_task = {
        t: {
            "n": len(g[0]),
            "kendall": stats.kendall(g[0], g[1]),
            "spearman": stats.spearman(g[0], g[1]),
            "mean_on_correct": float(g[0][g[1] >= 0.5].mean()) if (g[1] >= 0.5).any() else None,
            "mean_on_wrong": float(g[0][g[1] < 0.5].mean()) if (g[1] < 0.5).any() else None,
        }
        for t, g in groups.items()
    }
    return ScorerReport(
        scorer=scorer,
        cit_kendall=stats.bootstrap_groups(_mean_corr(stats.kendall), glist, resamples),
        cit_spearman=stats.bootstrap_groups(_mean_corr(stats.spearman), glist, resamples),
        cit_models=stats.bootstrap_groups(_models_tau, glist, resamples, strata=2),
        cat_pooled=stats.bootstrap(stats.kendall, [pooled_s, pooled_r], resamples),
        cat_spread=stats.bootstrap_groups(_spread(lo, hi), glist, resamples),
        per_task=per_task,
    )


@dataclass
class TfaItem:
    """One test item: a correct reference, its reformatted variants and wrong-but-well-formatted answers."""

    record: object
    variants: dict
    wrongs: list


def build_tfa_items(records, max_items: int = 60, seed: int = 0) -> list[TfaItem]:
    """One item per distinct (task, sample) with a reference; round-robin over tasks up to max_items.
    Wrong answers come from perturb.wrong_variants: other rows' differing golds and constructed near
    misses, never picked by a scorer."""
    seen, by_task = set(), defaultdict(list)
    for r in records:
        key = (r.task, r.sample_id)
        if r.reference.strip() and key not in seen:
            seen.add(key)
            by_task[r.task].append(r)
    items = []
    rng = np.random.default_rng(seed)
    for task, rs in sorted(by_task.items()):
        refs, golds = [r.reference for r in rs], [r.gold for r in rs]
        for i in rng.permutation(len(rs)):
            wrongs = wrong_variants(int(i), refs, golds)
            variants = format_variants(rs[i].reference)
            if wrongs and variants:
                items.append(TfaItem(rs[i], variants, wrongs))
    # interleave tasks so a cap keeps every task represented
    order = defaultdict(list)
    for it in items:
        order[it.record.task].append(it)
    mixed = [it for batch in zip_longest_all(order.values()) for it in batch]
    return mixed[:max_items]


def zip_longest_all(lists):
    lists = [list(x) for x in lists]
    for i in range(max((len(x) for x in lists), default=0)):
        yield [x[i] for x in lists if i < len(x)]


def measure_tfa(items: list[TfaItem], score_texts: Callable, resamples=stats.DEFAULT_RESAMPLES):
    """score_texts(list of (record, text)) -> list[float|None]. Returns (Estimate, by-perturbation, tie rate)."""
    queries = []
    for it in items:
        queries.extend((it.record, t) for t in it.variants.values())
        queries.extend((it.record, t) for _, t in it.wrongs)
    values = score_texts(queries)
    pos, per_item, by_kind, ties = 0, [], defaultdict(list), []
    for it in items:
        nv, nw = len(it.variants), len(it.wrongs)
        var_scores = values[pos : pos + nv]
        wrong_scores = values[pos + nv : pos + nv + nw]
        pos += nv + nw
        rates = []
        for kind, v in zip(it.variants, var_scores):
            for (wkind, _), w in zip(it.wrongs, wrong_scores):
                if v is None or w is None:
                    continue
                win = 1.0 if v > w else 0.5 if v == w else 0.0
                rates.append(win)
                by_kind[kind].append(win)
                by_kind[f"vs {wkind}"].append(win)
                ties.append(v == w)
        if rates:
            per_item.append(float(np.mean(rates)))
    est = stats.bootstrap(lambda a: float(a.mean()) if len(a) else None, [per_item], resamples)
    est.note = est.note or f"{len(per_item)} items"
    kinds = {k: float(np.mean(v)) for k, v in by_kind.items()}
    return est, kinds, (float(np.mean(ties)) if ties else None)
