"""The scorers: one module each, described in its own `SCORERS` declaration (see registry.py).

`get_scorer(name, **options)` builds one; `build_for_recipe(name, recipe, judge_client)` builds
it exactly as `iftkit eval` does. Aliases (`task`, `lexical`, `rouge`, `all`) expand to several.
"""

from iftkit.core.errors import IftkitError
from iftkit.evaluation.scorers.base import MEAN, Output, SampleRecord, Scorer, ScoreResult
from iftkit.evaluation.scorers.registry import (
    EXACT_FORMAT,
    ITEMS,
    PAIRWISE_JUDGE,
    REFERENCE_BASED,
    STRICT_ANSWER,
    TASK_ANSWER,
    TASK_CHECKER,
    ScorerInfo,
    aliases,
    info,
    is_judge,
    judge_scorers,
    options_for,
    parent_of,
    playing,
    plays,
    registry,
    requested_by,
)


def list_scorers() -> list[str]:
    return list(registry())


def expand(names: list[str]) -> list[str]:
    groups = aliases()
    out = []
    for n in names:
        for m in groups.get(n, [n]):
            if m not in registry():
                raise IftkitError(
                    f"eval.scorers: unknown scorer {m!r} (known: {', '.join(list(registry()) + list(groups))})"
                )
            if m not in out:
                out.append(m)
    return out


def get_scorer(name: str, **options) -> Scorer:
    return info(name).build(**options)


def build_for_recipe(name: str, recipe, judge_client=None) -> Scorer:
    """The scorer `name` with the options the recipe gives it (and a judge client if it needs one)."""
    opts = options_for(name, recipe)
    if info(name).needs_judge:
        if judge_client is None:
            raise IftkitError(f"scorer {name!r} needs a judge client")
        opts["client"] = judge_client() if callable(judge_client) else judge_client
    return get_scorer(name, **opts)


__all__ = [
    "EXACT_FORMAT",
    "ITEMS",
    "MEAN",
    "PAIRWISE_JUDGE",
    "REFERENCE_BASED",
    "STRICT_ANSWER",
    "TASK_ANSWER",
    "TASK_CHECKER",
    "Output",
    "SampleRecord",
    "Scorer",
    "ScoreResult",
    "ScorerInfo",
    "build_for_recipe",
    "expand",
    "get_scorer",
    "info",
    "is_judge",
    "judge_scorers",
    "list_scorers",
    "parent_of",
    "playing",
    "plays",
    "requested_by",
]
