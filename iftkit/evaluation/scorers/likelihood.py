"""nll: the mean negative log-likelihood per token of a reference answer, in nats (lower is better).

Not computed from a prediction: eval measures it with forward passes when it builds the
forgetting suite's records (evaluation/forgetting.py, models/chat/local_likelihood.py) and
stores it in each record's `likelihood`; this scorer reads it, so the value flows into result rows
and the report's paired statistics like any scorer's. It applies to those records only, and the
generation scorers never to them (Scorer.reads_likelihood).
"""

import math

from iftkit.evaluation.forgetting import FORGETTING
from iftkit.evaluation.scorers.base import CONTINUOUS, Scorer
from iftkit.evaluation.scorers.registry import ScorerInfo


class AnswerNLL(Scorer):
    name = "nll"
    higher_is_better = False
    scale = (0.0, math.inf)  # nats per token: >= 0, unbounded above
    values = CONTINUOUS
    reads_likelihood = True

    def score(self, samples):
        return [None if not s.likelihood else float(s.likelihood["nll"]) for s in samples]


SCORERS = (
    ScorerInfo(
        "nll",
        AnswerNLL,
        "mean negative log-likelihood per token (nats) of the reference answer given the prompt, lower is "
        "better: the forgetting suite's measure (forward passes only)",
        requested_by=lambda recipe: FORGETTING in recipe.eval.suites,
    ),
)
