"""The scorer registry: every scorer by name, with its direction and scale.

`get_scorer(name, **options)` builds one; options are what that scorer needs (a judge client
and prompt, an embedding or reward model path). Aliases expand to several scorers.
"""

from iftkit.errors import IftkitError
from iftkit.evaluation.scorers.base import Sample, Scorer, ScoreResult


def _lazy(module, cls, *args, keys=()):
    def build(**options):
        import importlib

        kwargs = {k: options[k] for k in keys if options.get(k) is not None}
        return getattr(importlib.import_module(f"iftkit.evaluation.scorers.{module}"), cls)(*args, **kwargs)

    return build


_REGISTRY = {
    "task_strict": _lazy("task", "TaskScore", "strict"),
    "task_tolerant": _lazy("task", "TaskScore", "tolerant"),
    "task_format": _lazy("task", "FormatCompliance"),
    "exact_match": _lazy("lexical", "ExactMatch"),
    "rouge1": _lazy("lexical", "Rouge", "rouge1"),
    "rouge2": _lazy("lexical", "Rouge", "rouge2"),
    "rougeL": _lazy("lexical", "Rouge", "rougeL"),
    "bleu": _lazy("lexical", "Bleu"),
    "chrf": _lazy("lexical", "Chrf"),
    "embedding": _lazy("embedding", "EmbeddingSimilarity", keys=("model",)),
    "reward": _lazy("reward", "RewardModel", keys=("model",)),
    "judge": _lazy("judge", "ReferenceJudge", keys=("client", "prompt")),
    "judge_pairwise": _lazy("judge", "PairwiseJudge", keys=("client", "prompt")),
    "ifeval": _lazy("ifeval", "IFEval"),
}

ALIASES = {
    "rouge": ["rouge1", "rouge2", "rougeL"],
    "lexical": ["exact_match", "rouge1", "rouge2", "rougeL", "bleu", "chrf"],
    "task": ["task_strict", "task_tolerant", "task_format"],
    "all": list(_REGISTRY),
}

JUDGE_SCORERS = {"judge", "judge_pairwise"}


def list_scorers() -> list[str]:
    return list(_REGISTRY)


def expand(names: list[str]) -> list[str]:
    out = []
    for n in names:
        for m in ALIASES.get(n, [n]):
            if m not in _REGISTRY:
                raise IftkitError(f"eval.scorers: unknown scorer {m!r} (known: {', '.join(list(_REGISTRY) + list(ALIASES))})")
            if m not in out:
                out.append(m)
    return out


def get_scorer(name: str, **options) -> Scorer:
    if name not in _REGISTRY:
        raise IftkitError(f"unknown scorer {name!r} (known: {', '.join(_REGISTRY)})")
    return _REGISTRY[name](**options)


__all__ = ["Sample", "Scorer", "ScoreResult", "get_scorer", "list_scorers", "expand", "JUDGE_SCORERS"]
