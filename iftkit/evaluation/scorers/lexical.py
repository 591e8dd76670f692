"""Surface-overlap scorers: exact match, ROUGE-1/2/L (rouge-score), BLEU and chrF (sacrebleu).

The paper's point is that these fail TFA (a correct answer phrased differently scores low);
they are here to be compared against, not trusted.
"""

import re

from iftkit.evaluation.scorers.base import BINARY, Scorer
from iftkit.evaluation.scorers.registry import REFERENCE_BASED, ScorerInfo


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip()).casefold().rstrip(".")


class ExactMatch(Scorer):
    name = "exact_match"
    values = BINARY
    needs_reference = True

    def score(self, samples):
        return [float(normalise(s.prediction) == normalise(s.reference)) for s in samples]


class Rouge(Scorer):
    needs_reference = True

    def __init__(self, variant: str):
        self.variant = variant
        self.name = variant

    def score(self, samples):
        from rouge_score import rouge_scorer

        scorer = rouge_scorer.RougeScorer([self.variant], use_stemmer=True)
        return [scorer.score(s.reference or "", s.prediction or "")[self.variant].fmeasure for s in samples]


class Bleu(Scorer):
    name = "bleu"
    scale = (0.0, 100.0)
    needs_reference = True

    def score(self, samples):
        from sacrebleu.metrics import BLEU

        # sentence-level BLEU needs smoothing or short answers all score 0
        metric = BLEU(effective_order=True)
        return [metric.sentence_score(s.prediction or "", [s.reference or ""]).score for s in samples]


class Chrf(Scorer):
    name = "chrf"
    scale = (0.0, 100.0)
    needs_reference = True

    def score(self, samples):
        from sacrebleu.metrics import CHRF

        metric = CHRF()
        return [metric.sentence_score(s.prediction or "", [s.reference or ""]).score for s in samples]


# REFERENCE_BASED preference: after the judge (0) and embeddings (1), chrF first (least tied to the exact
# wording), exact match last
SCORERS = (
    ScorerInfo("exact_match", ExactMatch, "prediction equals the reference (normalised)", aliases=("lexical",),
               roles={REFERENCE_BASED: 6}),
    ScorerInfo("rouge1", lambda: Rouge("rouge1"), "ROUGE-1 F1 against the reference", aliases=("lexical", "rouge"),
               roles={REFERENCE_BASED: 4}),
    ScorerInfo("rouge2", lambda: Rouge("rouge2"), "ROUGE-2 F1 against the reference", aliases=("lexical", "rouge")),
    ScorerInfo("rougeL", lambda: Rouge("rougeL"), "ROUGE-L F1 against the reference", aliases=("lexical", "rouge"),
               roles={REFERENCE_BASED: 3}),
    ScorerInfo("bleu", Bleu, "sentence BLEU against the reference", aliases=("lexical",), roles={REFERENCE_BASED: 5}),
    ScorerInfo("chrf", Chrf, "chrF against the reference", aliases=("lexical",), roles={REFERENCE_BASED: 2}),
)
