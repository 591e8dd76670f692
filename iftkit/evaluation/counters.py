"""Call counters for one eval run: what was computed vs served from cache, failures, tokens, cost."""

from dataclasses import asdict, dataclass, field

from iftkit.models.chat.types import Tally


@dataclass
class VerdictTally:
    """Judge verdicts by outcome: one per judge output (candidate, reference, each pairwise order)."""

    scored: int = 0
    unparseable: int = 0  # the judge answered, but not with an allowed verdict
    failed: int = 0  # no answer at all (request failed, or the circuit breaker was open)
    by_probs: int = 0  # scored from the verdict probabilities (the rest: parsed from text)

    def line(self) -> str:
        how = (
            f" ({self.by_probs} from probabilities, {self.scored - self.by_probs} parsed from text)"
            if self.scored
            else ""
        )
        return (
            f"judge verdicts: {self.scored} scored, {self.unparseable} unparseable, {self.failed} failed requests{how}"
        )


@dataclass
class Counters:
    generations: Tally = field(default_factory=Tally)
    judge: Tally = field(default_factory=Tally)
    verdicts: VerdictTally = field(default_factory=VerdictTally)
    benchmarks: Tally = field(default_factory=Tally)  # lm-eval task results (model x task)
    models_loaded: int = 0

    def summary_line(self) -> str:
        line = (
            f"generations: {self.generations.new} new, {self.generations.cached} cached; "
            f"judge calls: {self.judge.new} new, {self.judge.cached} cached"
        )
        if self.benchmarks.new or self.benchmarks.cached:
            line += f"; lm-eval tasks: {self.benchmarks.new} new, {self.benchmarks.cached} cached"
        return line

    def to_dict(self) -> dict:
        return asdict(self)
