"""What every scorer shares: the sample it reads and the shape of what it returns.

A scorer returns one value per sample; None means "does not apply to this sample" (a task
scorer on a free-form prompt) unless the scorer also marks the sample failed (a judge whose
verdict could not be parsed), so "not applicable" and "failed" are never confused.
"""

from dataclasses import dataclass
from typing import Optional

from iftkit.core.stats import BINARY, CONTINUOUS, ScoreScale
from iftkit.evaluation.records import SampleRecord


@dataclass
class ScoreResult:
    """Everything one scorer produced for a list of samples.

    values: output name -> one value per sample (a judge emits judge, judge_reference and
    judge_ratio); details: per-sample judge record {"raw", "parsed", "error"} or None;
    failed: per-sample True when the scorer applied but could not produce a value.
    """

    values: dict[str, list[Optional[float]]]
    details: list[Optional[dict]] = None
    failed: list[bool] = None


# how a group of samples becomes one number (written to each results row, read by the report)
MEAN = "mean per answer"


class Scorer:
    """One scorer, or one output of a scorer: its name, direction (the report recommends the highest or the
    lowest point by it, and says which), scale, the type of one value (BINARY: 0/1, or CONTINUOUS; the
    report's intervals follow it, core/stats.ScoreScale) and aggregation: MEAN, or the words for the
    scorer's own pooled_values / corpus_statistic ("micro over items", "ratio of means"...)."""

    name: str = ""
    higher_is_better: bool = True
    scale: tuple = (0.0, 1.0)
    values: str = CONTINUOUS
    aggregation: str = MEAN
    # compares the answer with the reference answer: a sample without one (IFBench's prompts are
    # verifier-scored and carry none) gets no value rather than a score against an empty string
    needs_reference: bool = False
    # reads the likelihood eval measured for a record (the forgetting suite), not a prediction: such a
    # scorer applies to those records only, and every other scorer to the rest
    reads_likelihood: bool = False

    def score_scale(self, records=None) -> ScoreScale:
        return ScoreScale.declared(self.values_for(records or []), self.scale)

    def values_for(self, records: list[SampleRecord]) -> str:
        """The type of one value over these records: the scorer's declaration, unless what it scores declares
        otherwise (a task whose tolerant score is an F1: TaskScore)."""
        return self.values

    def score(self, samples: list[SampleRecord]) -> list[Optional[float]]:
        raise NotImplementedError

    def score_detailed(self, samples: list[SampleRecord]) -> ScoreResult:
        applies = [i for i, s in enumerate(samples) if not self.needs_reference or (s.reference or "").strip()]
        got = self.score([samples[i] for i in applies]) if applies else []
        vals: list[Optional[float]] = [None] * len(samples)
        for i, v in zip(applies, got):
            vals[i] = v
        return ScoreResult({self.name: vals}, [None] * len(samples), [False] * len(samples))

    def aggregate(self, values) -> float:
        vals = [v for v in values if v is not None]
        return float(sum(vals) / len(vals)) if vals else float("nan")

    def pooled_values(self, records: list[SampleRecord]) -> Optional[list]:
        """Values to average over a group of sample records when they are not one per sample
        (IFEval's instruction level pools every instruction of every prompt); None = per sample."""
        return None

    def corpus_statistic(self, records: list[SampleRecord]) -> Optional[tuple]:
        """(statistic, arrays) when a group's value is not a mean of per-sample values: statistic(*arrays)
        is the value and the bootstrap resamples the arrays' rows together (a micro F1 pools counts, a
        judge ratio divides two means). None = the mean of the per-sample values."""
        return None

    def identity(self) -> str:
        """What the values depend on besides the sample (a judge's model and prompt, an
        embedding model path): stored with each record so a changed scorer rescores."""
        return self.name

    def outputs(self) -> dict[str, "Scorer"]:
        """Output name -> scorer describing it (direction, scale); most scorers have one."""
        return {self.name: self}


class Output(Scorer):
    """One more output of a scorer that writes several (a judge's reference score, a micro F1): its name,
    direction, scale and aggregation, for the result rows and the report; the values come from the scorer itself."""

    def __init__(self, name: str, higher_is_better: bool = True, scale: tuple = (0.0, 1.0), aggregation: str = MEAN,
                 values: str = CONTINUOUS):
        self.name, self.higher_is_better, self.scale, self.aggregation = name, higher_is_better, scale, aggregation
        self.values = values


__all__ = ["BINARY", "CONTINUOUS", "MEAN", "Output", "ScoreResult", "Scorer"]
