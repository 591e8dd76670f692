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
    low_mass: int = 0  # unparseable: too little probability on allowed verdicts (verdicts.MIN_VERDICT_MASS)
    mass_total: float = 0.0  # summed probability on allowed verdicts, over the verdicts read from probabilities
    mass_count: int = 0

    def line(self) -> str:
        how = (
            f" ({self.by_probs} from probabilities, {self.scored - self.by_probs} parsed from text)"
            if self.scored
            else ""
        )
        low = f" ({self.low_mass} with too little probability on allowed verdicts)" if self.low_mass else ""
        mass = (f"; mean probability on allowed verdicts {self.mass_total / self.mass_count:.2f}"
                if self.mass_count else "")
        line = (
            f"judge verdicts: {self.scored} scored, {self.unparseable} unparseable{low}, "
            f"{self.failed} failed requests{how}{mass}"
        )
        if not self.scored and (self.unparseable or self.failed):
            line += (f"\nWARNING: the judge scored 0 of {self.unparseable + self.failed} verdicts: every judge score "
                     "is missing (check the judge prompt's verdict format, the server, or use a stronger judge)")
        return line


@dataclass
class Counters:
    generations: Tally = field(default_factory=Tally)
    judge: Tally = field(default_factory=Tally)
    verdicts: VerdictTally = field(default_factory=VerdictTally)
    benchmarks: Tally = field(default_factory=Tally)  # lm-eval task results (model x task)
    likelihood: Tally = field(default_factory=Tally)  # reference answers' NLL (the forgetting suite)
    models_loaded: int = 0

    def summary_line(self) -> str:
        line = (
            f"generations: {self.generations.new} new, {self.generations.cached} cached; "
            f"judge calls: {self.judge.new} new, {self.judge.cached} cached"
        )
        if self.likelihood.new or self.likelihood.cached:
            line += f"; answer likelihoods: {self.likelihood.new} new, {self.likelihood.cached} cached"
        if self.benchmarks.new or self.benchmarks.cached:
            line += f"; lm-eval tasks: {self.benchmarks.new} new, {self.benchmarks.cached} cached"
        return line

    def to_dict(self) -> dict:
        return asdict(self)
