"""How sure the learning-dynamics findings are, from the per-prompt scores in samples.jsonl.

The curves in dynamics.py are means; two questions need the prompts behind them:
- Where does each curve arrive (its saturation n), give or take what? Bootstrap: resample the
  test prompts (one draw shared by every n, so the curve stays paired across n) and, at each n,
  the seeds; recompute the curve and its saturation n. The interval holds the middle 95 % of
  those n, and `biphasic_share` is the share of resamples where format arrives before the task.
- At one n, do synthetic target-format rows help? Synthetic minus real, paired by prompt, seeds
  counted on both sides (stats.paired_difference). A "helps"/"hurts" label holds family-wise:
  Holm's correction over every (n, metric) comparison made.
"""

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from iftkit.core import stats
from iftkit.data.tasks import task_spec
from iftkit.evaluation.records import read_samples
from iftkit.meta.dynamics import SATURATION, _cell_from_results_row, by_curve, saturation_n, task_scorer
from iftkit.meta.samples import default_task_lookup

RESAMPLES = 1000


@dataclass
class PromptScores:
    n: int
    seed: int
    source: str
    metric: str  # format | task
    scores: dict  # (task, sample_id) -> 0..1


def load_prompt_scores(root, task_lookup=None) -> list[PromptScores]:
    """Per-prompt format compliance and tolerant task score of every in-domain sample under `root`."""
    lookup = task_lookup or default_task_lookup()
    cards: dict = {}
    cells = defaultdict(dict)  # (n, seed, source, metric) -> {prompt: score}; a later line wins
    task_name = task_scorer()
    for path in sorted(Path(root).rglob("samples.jsonl")):
        for rec in read_samples(path):
            if rec.suite != "in_domain" or rec.prediction is None:  # a failed generation is no 0
                continue
            cell = _cell_from_results_row({"model": rec.model, "adapter_path": rec.adapter_path}, cards)
            task = lookup(rec.task, task_spec(rec.meta))
            if cell is None or task is None:
                continue
            prompt = (rec.task, rec.sample_id)
            cells[(*cell, "format")][prompt] = 1.0 if task.format_ok(rec.prediction) else 0.0
            if rec.scores.get(task_name) is not None:
                cells[(*cell, "task")][prompt] = float(rec.scores[task_name])
    return [PromptScores(n, seed, src, metric, s) for (n, seed, src, metric), s in cells.items()]


def _matrices(items: list[PromptScores]) -> tuple[dict, list]:
    """{(source, metric): {n: seeds x prompts array}} over the prompts every cell scored."""
    prompts = sorted(set.intersection(*(set(it.scores) for it in items))) if items else []
    grouped = by_curve(items, key=lambda it: (it.n, it.source, it.metric))
    out = {
        curve: {n: np.array([[it.scores[p] for p in prompts] for it in group]) for n, group in per_n.items()}
        for curve, per_n in grouped.items()
    }
    return out, prompts


def boundary_intervals(items: list[PromptScores], resamples: int = RESAMPLES, seed: int = 0,
                       frac: float = SATURATION) -> dict:
    """{source: {"format_saturates_in": [lo, hi] | None, "task_plateaus_in": ..., "biphasic_share"}}."""
    mats, prompts = _matrices(items)
    if not prompts:
        return {}
    rng = np.random.default_rng(seed)
    draws = defaultdict(list)  # (source, metric) -> saturation n per resample (None = no rise)
    for _ in range(resamples):
        cols = rng.integers(0, len(prompts), len(prompts))
        for curve, per_n in mats.items():
            ns = sorted(per_n)
            ys = np.array([per_n[n][rng.integers(0, len(per_n[n]), len(per_n[n]))][:, cols].mean() for n in ns])
            draws[curve].append(saturation_n(np.array(ns), ys, frac))
    out = {}
    for src in sorted({s for s, _ in mats}):
        f, t = draws.get((src, "format"), []), draws.get((src, "task"), [])
        both = [(a, b) for a, b in zip(f, t)]
        out[src] = {
            "format_saturates_in": _interval(f),
            "task_plateaus_in": _interval(t),
            "biphasic_share": (sum(a is not None and b is not None and a < b for a, b in both) / len(both))
            if both else None,
            "prompts": len(prompts),
            "resamples": resamples,
        }
    return out


def _interval(values: list) -> Optional[list]:
    """Middle 95 % of the resampled saturation n; None when most resamples show no rise at all."""
    got = sorted(v for v in values if v is not None)
    if len(got) < len(values) / 2:
        return None
    return [int(np.percentile(got, 2.5, method="lower")), int(np.percentile(got, 97.5, method="higher"))]


def synthetic_effect(items: list[PromptScores]) -> list[dict]:
    """Per n and metric where both real and synthetic points exist: synthetic minus real, paired CI,
    p-value and its Holm adjustment over all of them ("p_holm")."""
    mats, prompts = _matrices(items)
    out = []
    for metric in ("format", "task"):
        real, synth = mats.get(("real", metric), {}), mats.get(("synthetic", metric), {})
        for n in sorted(set(real) & set(synth)):
            if n == 0 and real[n] is synth[n]:
                continue  # the same shared n=0 point on both curves
            est = stats.paired_difference(synth[n], real[n], scale=stats.BINARY_SCALE)  # format / task: 0/1
            out.append({"n": n, "metric": metric, "difference": est.value, "ci": [est.ci_low, est.ci_high],
                        "prompts": est.n, "seeds": [len(real[n]), len(synth[n])], "p": est.p_value,
                        "differing": est.differing, "differ_text": est.differ_text()})
    return add_holm(out)


def add_holm(effects: list[dict]) -> list[dict]:
    """Give every effect with a p-value its Holm-adjusted "p_holm" over all of them."""
    tested = [e for e in effects if e.get("p") is not None]
    for e, adjusted in zip(tested, stats.holm([e["p"] for e in tested])):
        e["p_holm"] = float(adjusted)
    return effects


def describe_intervals(intervals: dict, effects: list[dict]) -> list[str]:
    lines = []
    for src, b in intervals.items():
        f, t = b["format_saturates_in"], b["task_plateaus_in"]
        share = b["biphasic_share"]
        lines.append(
            f"{src} target samples, {b['resamples']} bootstrap resamples of {b['prompts']} prompts and the seeds: "
            f"format saturates within n in {_span(f)}, task within n in {_span(t)}"
            + (f"; format first in {share:.0%} of resamples" if share is not None else "")
        )
    for e in effects:
        lo, hi = e["ci"]
        ci = f"[{lo:+.3f}, {hi:+.3f}]" if lo is not None else "(no CI)"
        p_holm = e.get("p_holm")
        shown = p_holm is not None and p_holm < 0.05
        verdict = ("helps" if shown and e["difference"] > 0 else "hurts" if shown and e["difference"] < 0
                   else "no difference the test set can resolve")
        family = (f"; Holm over {len([x for x in effects if x.get('p_holm') is not None])} comparisons: "
                  f"p = {p_holm:.3g}" if p_holm is not None else "")
        differ = f", {e['differ_text']}" if e.get("differ_text") else ""
        lines.append(
            f"synthetic target-format rows at n={e['n']} real rows, {e['metric']}: "
            f"{e['difference']:+.3f} {ci} (95% paired CI, {e['prompts']} prompts{differ}, seeds {e['seeds'][0]} vs "
            f"{e['seeds'][1]}{family}): {verdict}"
        )
    return lines


def _span(interval) -> str:
    return "(no rise)" if interval is None else f"[{interval[0]}, {interval[1]}]"
