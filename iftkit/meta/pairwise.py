"""Measure a pairwise judge against human preferences: agreement, position bias, length bias.

A pairwise judge here is a batch callable judge([(prompt, first, second), ...]) -> ["a" | "b" |
"tie" | None, ...] ("a" = the first slot wins; None = unparseable verdict, counted, never
guessed); batching lets a local model judge many pairs at once. Each pair is judged in both
orders so position preference can be separated from content preference.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from iftkit.core import stats
from iftkit.meta.human import HumanPair

PairwiseJudge = Callable[[list], list]


@dataclass
class PairVerdicts:
    pair: HumanPair
    forward: Optional[str]  # verdict with (response_a, response_b)
    backward: Optional[str]  # verdict with (response_b, response_a), in that call's slots
    raw: tuple = (None, None)  # the judge's text for each order, when the judge returns it
    p_first: tuple = (None, None)  # P(first slot wins) for each order, when the judge has probabilities

    def combined(self) -> Optional[str]:
        """Order-debiased verdict in the human's a/b terms: agreement of both orders, else tie."""
        if self.forward is None or self.backward is None:
            return None
        back = {"a": "b", "b": "a", "tie": "tie"}[self.backward]
        return self.forward if self.forward == back else "tie"

    def prob_combined(self) -> Optional[str]:
        """Order-debiased verdict from probabilities: the mean over both orders of P(response_a wins)."""
        if None in self.p_first:
            return None
        pa = (self.p_first[0] + 1.0 - self.p_first[1]) / 2
        return "a" if pa > 0.5 else "b" if pa < 0.5 else "tie"


def judge_pairs(judge: PairwiseJudge, pairs: list[HumanPair]) -> list[PairVerdicts]:
    triples = [(p.prompt, p.response_a, p.response_b) for p in pairs]
    triples += [(p.prompt, p.response_b, p.response_a) for p in pairs]
    verdicts = list(judge(triples)) if triples else []
    if len(verdicts) != len(triples):
        raise ValueError(f"pairwise judge returned {len(verdicts)} verdicts for {len(triples)} comparisons")
    n = len(pairs)
    return [
        PairVerdicts(
            p,
            _norm(verdicts[i]),
            _norm(verdicts[n + i]),
            (_raw(verdicts[i]), _raw(verdicts[n + i])),
            (_p_first(verdicts[i]), _p_first(verdicts[n + i])),
        )
        for i, p in enumerate(pairs)
    ]


def _raw(v) -> Optional[str]:
    return v[1] if isinstance(v, tuple) else None


def _p_first(v) -> Optional[float]:
    return v[2] if isinstance(v, tuple) and len(v) > 2 else None


def score_pairs(score: Callable[[list], list], pairs: list[HumanPair]) -> list[PairVerdicts]:
    """A pointwise judge (the reference-guided 0-10 one) on human pairs: `score([(prompt, answer), ...])`
    grades each answer alone; the higher grade is its preference (equal grades: tie). It sees one answer at a
    time, so both "orders" carry the same verdict and there is no position to prefer."""
    graded = list(score([(p.prompt, p.response_a) for p in pairs] + [(p.prompt, p.response_b) for p in pairs]))
    n = len(pairs)
    out = []
    for i, p in enumerate(pairs):
        a, b = graded[i], graded[n + i]
        fwd = None if a is None or b is None else "a" if a > b else "b" if b > a else "tie"
        back = None if fwd is None else {"a": "b", "b": "a", "tie": "tie"}[fwd]
        out.append(PairVerdicts(p, fwd, back, (f"scores {a} vs {b}", f"scores {a} vs {b}")))
    return out


def one_at_a_time(fn: Callable[[str, str, str], Optional[str]]) -> PairwiseJudge:
    """Batch view of a judge that answers one (prompt, first, second) at a time."""
    return lambda triples: [fn(*t) for t in triples]


def _norm(v) -> Optional[str]:
    if isinstance(v, tuple):  # (verdict, raw judge text)
        v = v[0]
    if v is None:
        return None
    v = str(v).strip().lower()
    return v if v in ("a", "b", "tie") else None


def gate_counts(verdicts: list[PairVerdicts]) -> dict:
    """Exact counts for the trust gate over the pairs the humans decided: `agree` = the judge's order-debiased
    call (both orders' probabilities averaged where given, else both orders' verdicts) names the human's
    answer; a tie or an unparseable call does not agree, so a judge cannot pass by abstaining. `calibration`:
    the judge's call as a value (a = 1, tie = 0.5, b = 0) summed over the pairs humans gave to a (its
    sensitivity) and 1 - that over the pairs they gave to b (its specificity), unparseable calls left out:
    what a correction of its win rates for its errors needs (judge_trust.corrected_rate)."""
    decided = [v for v in verdicts if v.pair.preference in ("a", "b")]
    calls = [(v.pair.preference, v.prob_combined() or v.combined()) for v in decided]
    value = {"a": 1.0, "tie": 0.5, "b": 0.0}
    sens = [value[c] for h, c in calls if h == "a" and c is not None]
    spec = [1.0 - value[c] for h, c in calls if h == "b" and c is not None]
    return {
        "n": len(calls),
        "agree": sum(c == h for h, c in calls),
        "ties": sum(c == "tie" for _, c in calls),
        "unparsed": sum(c is None for _, c in calls),
        "by_probs": sum(v.prob_combined() is not None for v in decided),
        "calibration": {"sensitivity": [sum(sens), len(sens)], "specificity": [sum(spec), len(spec)]},
    }


def summarise(verdicts: list[PairVerdicts], resamples: int = stats.DEFAULT_RESAMPLES, pointwise: bool = False) -> dict:
    """Agreement with humans (single order and both-orders), position and length bias, failures.
    pointwise: the verdicts come from `score_pairs` (one answer at a time): no position figures."""
    decided = [v for v in verdicts if v.pair.preference != "tie"]
    # agreement over pairs the humans decided; a judge tie counts half (it neither agrees nor disagrees)
    agree_fwd = [_agree(v.forward, v.pair.preference) for v in decided]
    swapped = {"a": "b", "b": "a", "tie": "tie"}
    agree_back = [_agree(None if v.backward is None else swapped[v.backward], v.pair.preference) for v in decided]
    agree_both = [_agree(v.combined(), v.pair.preference) for v in decided]
    agree_probs = [_agree(v.prob_combined(), v.pair.preference) for v in decided]
    slot_calls, longer_calls, human_longer = [], [], []
    for v in verdicts:
        pa, pb = v.pair.response_a, v.pair.response_b
        for verdict, first, second in ((v.forward, pa, pb), (v.backward, pb, pa)):
            if verdict in ("a", "b"):
                slot_calls.append(1.0 if verdict == "a" else 0.0)
                if len(first) != len(second):
                    chosen = first if verdict == "a" else second
                    longer_calls.append(1.0 if len(chosen) == max(len(first), len(second)) else 0.0)
        if v.pair.preference in ("a", "b") and len(pa) != len(pb):
            chosen = pa if v.pair.preference == "a" else pb
            human_longer.append(1.0 if len(chosen) == max(len(pa), len(pb)) else 0.0)
    consistent = [1.0 if v.combined() not in (None, "tie") else 0.0 for v in verdicts if v.forward and v.backward]
    calls = 2 * len(verdicts)
    failed = sum((v.forward is None) + (v.backward is None) for v in verdicts)
    none = stats.Estimate(None, note="one answer at a time").to_dict()
    return {
        "pairs": len(verdicts),
        "gate": gate_counts(verdicts),
        "pointwise": pointwise,
        "agreement_one_order": _rate([a for a in agree_fwd if a is not None], resamples).to_dict(),
        "agreement_swapped_order": none if pointwise else _rate([a for a in agree_back if a is not None],
                                                                 resamples).to_dict(),
        "agreement_both_orders": _rate([a for a in agree_both if a is not None], resamples).to_dict(),
        "agreement_both_orders_probs": _rate([a for a in agree_probs if a is not None], resamples).to_dict(),
        "first_slot_rate": none if pointwise else _rate(slot_calls, resamples).to_dict(),
        "longer_chosen_rate": _rate(longer_calls[::2] if pointwise else longer_calls, resamples).to_dict(),
        "human_longer_rate": _rate(human_longer, resamples).to_dict(),
        "order_consistency": none if pointwise else _rate(consistent, resamples).to_dict(),
        "parse_failure_rate": failed / calls if calls else None,
        "verdicts": {"scored": calls - failed, "unparseable": failed},
        "unparsed_examples": [r for v in verdicts for r, x in zip(v.raw, (v.forward, v.backward)) if x is None and r][
            :3
        ],
    }


def prefer_longer(triples) -> list:
    """Baseline judge: the longer answer wins (equal length: tie), in whichever slot it is."""
    return [
        "a" if len(first) > len(second) else "b" if len(second) > len(first) else "tie" for _, first, second in triples
    ]


def chance_summary() -> dict:
    """What a judge that flips a fair coin (A or B) scores in expectation: the floor of the table."""
    half = stats.Estimate(0.5, note="expected").to_dict()
    return {
        "agreement_one_order": half,
        "agreement_both_orders": half,
        "agreement_both_orders_probs": half,
        "order_consistency": half,
        "first_slot_rate": half,
        "longer_chosen_rate": half,
        "parse_failure_rate": 0.0,
    }


def verdict_line(summary: dict) -> str:
    v = summary["verdicts"]
    return f"judge verdicts: {v['scored']} scored, {v['unparseable']} unparseable"


TRUST_COLUMNS = [
    ("agreement_one_order", "agreement, one order"),
    ("agreement_both_orders", "agreement, both orders"),
    ("agreement_both_orders_probs", "agreement, both orders by probability"),
    ("order_consistency", "position consistency"),
    ("first_slot_rate", "picks first slot"),
    ("longer_chosen_rate", "picks longer answer"),
]


def trust_table(name: str, summary: dict) -> list[str]:
    """Markdown rows: the judge against the two baselines, on the same pairs."""
    head = ["judge"] + [label for _, label in TRUST_COLUMNS] + ["unparseable"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = [(name, summary)] + [
        (f"baseline: {k.replace('_', ' ')}", b) for k, b in summary.get("baselines", {}).items()
    ]
    for label, s in rows:
        cells = [_fmt(s.get(k)) for k, _ in TRUST_COLUMNS]
        rate = s.get("parse_failure_rate")
        lines.append("| " + " | ".join([label] + cells + ["n/a" if rate is None else f"{rate:.0%}"]) + " |")
    return lines


def _fmt(d) -> str:
    if not d or d.get("value") is None:
        return "n/a"
    est = stats.Estimate(d["value"], d.get("ci_low"), d.get("ci_high"), d.get("n", 0), d.get("note", ""))
    return est.fmt() + (f" ({est.note})" if est.note else "")


def _agree(verdict, human) -> Optional[float]:
    if verdict is None:
        return None
    return 0.5 if verdict == "tie" else 1.0 if verdict == human else 0.0


def _rate(values, resamples) -> stats.Estimate:
    return stats.bootstrap(lambda a: float(a.mean()) if len(a) else None, [np.asarray(values, dtype=float)], resamples)


def describe(summary: dict) -> str:
    """Plain-language reading of a pairwise summary, with how many verdicts each figure rests on."""
    agree, first, longer, human_longer = (
        summary[k] for k in ("agreement_both_orders", "first_slot_rate", "longer_chosen_rate", "human_longer_rate")
    )
    parts = []
    if agree["value"] is not None:
        parts.append(
            f"agrees with humans on {agree['value']:.0%} of {agree['n']} pairs "
            + ("graded one answer at a time" if summary.get("pointwise") else "judged in both orders")
            + " (50% = chance)"
        )
    by_probs = summary.get("agreement_both_orders_probs") or {}
    if by_probs.get("value") is not None:
        parts.append(f"{by_probs['value']:.0%} when both orders' probabilities are averaged")
    if first["value"] is not None:
        gap = abs(first["value"] - 0.5)
        lean = "strong" if gap > 0.2 else "some" if gap > 0.1 else "little"
        parts.append(
            f"picks the first slot in {first['value']:.0%} of {first['n']} decisive verdicts ({lean} position bias)"
        )
    if longer["value"] is not None:
        ref = f" vs {human_longer['value']:.0%} for humans" if human_longer["value"] is not None else ""
        parts.append(f"picks the longer answer {longer['value']:.0%} of the time{ref}")
    if summary["parse_failure_rate"]:
        parts.append(f"{summary['parse_failure_rate']:.0%} of verdicts were unparseable")
    if first["n"] < 10 and not summary.get("pointwise"):
        parts.append(
            "too few parsed verdicts to conclude anything but that this judge does not follow the verdict format"
        )
    return "; ".join(parts) if parts else "no decisive verdicts to measure"
