"""Call counters for one eval run: what was computed vs served from cache, tokens and cost."""

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    generations_new: int = 0
    generations_cached: int = 0
    judge_new: int = 0
    judge_cached: int = 0
    judge_failed: int = 0  # no usable response after every retry
    judge_retries: int = 0
    judge_prompt_tokens: int = 0
    judge_completion_tokens: int = 0
    judge_cost: float = 0.0
    models_loaded: int = 0

    def summary_line(self) -> str:
        return (
            f"generations: {self.generations_new} new, {self.generations_cached} cached; "
            f"judge calls: {self.judge_new} new, {self.judge_cached} cached"
        )

    def to_dict(self) -> dict:
        return asdict(self)
