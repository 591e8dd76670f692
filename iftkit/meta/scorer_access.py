"""How meta-eval reaches the eval stage's scorers: the registry, its Sample type, judge clients.

Kept apart so tests can pass their own factory, and so a missing or failing scorer becomes a
"n/a" cell with its reason rather than a crash of the whole table. Sample records name scorer
*outputs* (a judge writes judge, judge_reference and judge_ratio); each output is reached
through the registry scorer that produces it.
"""

import dataclasses
from pathlib import Path
from typing import Callable, Optional

from iftkit.config.schema import Recipe
from iftkit.core.paths import cache_dir
from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.evaluate import build_judge_client, build_scorers
from iftkit.evaluation.scorers import parent_of


class OutputView:
    """One named output of a registry scorer, with that output's direction and scale."""

    def __init__(self, parent, output: str):
        self.parent, self.name = parent, output
        described = parent.outputs().get(output, parent) if hasattr(parent, "outputs") else parent
        self.scale = getattr(described, "scale", None)
        self.higher_is_better = getattr(described, "higher_is_better", True)

    def score(self, samples):
        if self.name == getattr(self.parent, "name", None) or not hasattr(self.parent, "score_detailed"):
            return self.parent.score(samples)
        return self.parent.score_detailed(samples).values[self.name]


def registry_factory(recipe=None) -> Callable:
    """name -> scorer built exactly as `iftkit eval` builds it for this recipe (judge client included)."""
    if recipe is None:
        recipe = Recipe()
    # same judge cache as `iftkit eval`, so verdicts already paid for are reused
    cache_root = Path(recipe.eval.cache_dir) if recipe.eval.cache_dir else cache_dir() / "eval"
    counters = Counters()
    client_box, built = [], {}

    def judge_client():
        if not client_box:
            # progress on: judging is the slow part of meta-eval, so it shows a bar with an ETA
            client_box.append(
                build_judge_client(recipe, JsonStore(cache_root / "judge.sqlite", "judge"), counters, True)
            )
        return client_box[0]

    def factory(name, **_):
        parent = parent_of(name)
        if parent not in built:
            built[parent] = build_scorers(recipe, [parent], judge_client)[parent]
        return OutputView(built[parent], name)

    factory.counters = counters
    factory.judge_client = lambda: client_box[0] if client_box else None
    return factory


def text_scorer(scorer) -> Callable:
    """(record, text) pairs -> scores, scoring `text` as the prediction for the record's prompt."""

    def score_texts(queries):
        samples = [dataclasses.replace(r, prediction=t) for r, t in queries
        ]
        values = scorer.score(samples)
        return [None if v is None else float(v) for v in values]

    return score_texts


def pairwise_callable(scorer) -> Optional[Callable]:
    """A batch judge [(prompt, first, second)] -> [("a"|"b"|"tie"|None, raw text, P(first wins))] view of a pairwise
    scorer.

    Works with the eval stage's PairwiseJudge (a judge client + a pairwise prompt): each call
    is one order only, so position preference stays visible. A probability verdict answers
    with its most likely choice and P(first slot wins) = P(A) + P(tie) / 2 (None for text verdicts)."""
    inner = getattr(scorer, "parent", scorer)
    client, prompt = getattr(inner, "client", None), getattr(inner, "prompt", None)
    if client is None or getattr(prompt, "kind", None) != "pairwise":
        return None

    def judge_many(triples):
        msgs = [
            prompt.render(instruction=p, reference="(no reference answer given)", answer_a=a, answer_b=b)
            for p, a, b in triples
        ]
        got = client.verdicts(prompt, msgs, desc=f"judge {len(msgs)} verdicts ({client.label})")
        return [
            (
                {"A": "a", "B": "b", "tie": "tie"}.get(v.label),
                v.raw if v.raw is not None else v.error,
                v.value if v.probs else None,
            )
            for v in got
        ]

    return judge_many


def pointwise_callable(scorer) -> Optional[Callable]:
    """A batch grader [(prompt, answer)] -> [grade or None] view of the reference-guided judge, with the same
    prompt it scores with; human pairs carry no reference answer, so the prompt says none is given (as the
    pairwise view does)."""
    inner = getattr(scorer, "parent", scorer)
    client, prompt = getattr(inner, "client", None), getattr(inner, "prompt", None)
    if client is None or getattr(prompt, "kind", None) != "reference":
        return None

    def grade_many(items):
        msgs = [prompt.render(instruction=p, reference="(no reference answer given)", answer=a) for p, a in items]
        return [v.value for v in client.verdicts(prompt, msgs, desc=f"judge {len(msgs)} grades ({client.label})")]

    return grade_many


def verdict_tally(scorer):
    """The judge's verdict counts (scored / unparseable / failed), or None for a scorer without a judge."""
    client = getattr(getattr(scorer, "parent", scorer), "client", None)
    return getattr(client, "tally", None)


def scale_of(scorer) -> Optional[tuple]:
    scale = getattr(scorer, "scale", None)
    try:
        lo, hi = scale
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return None
    return (lo, hi) if hi != float("inf") else None
