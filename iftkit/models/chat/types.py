"""What a chat backend is asked (GenConfig) and what it answers (Completion)."""

from dataclasses import asdict, dataclass
from typing import Optional


@dataclass(frozen=True)
class GenConfig:
    """Decoding settings; part of every cache key, so a change never reuses old replies."""

    max_new_tokens: int = 64
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    # HTTP only: ask the server for this many alternatives per generated token (0 = none)
    top_logprobs: int = 0
    # HTTP only: the last message is the assistant's unfinished reply, to be continued rather than
    # answered (vLLM's continue_final_message): how a judge reads the digit after a split "1"
    continue_final: bool = False

    def identity(self) -> dict:
        out = asdict(self)
        if not self.continue_final:  # absent unless used, so every existing cache key stays as it was
            del out["continue_final"]
        return out


@dataclass
class Completion:
    """One answer: text (None when no usable response came back) and what it cost.

    `logprobs` (HTTP, when requested and returned): one entry per generated token,
    [token text, {alternative token text: logprob}]. `probs` (choice_probs): choice -> p.
    `truncated`: the answer stopped on the length limit, not on an end token (None = unknown).
    `likelihood` (answer_nll): {nll, tokens, answer_tokens} of a given answer; `truncated` then says the
    answer was cut to its first tokens."""

    text: Optional[str]
    error: Optional[str] = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    cached: bool = False
    logprobs: Optional[list] = None
    probs: Optional[dict] = None
    not_sent: bool = False  # the circuit breaker was open: the server was never asked
    truncated: Optional[bool] = None
    likelihood: Optional[dict] = None

    def to_cache(self) -> dict:
        out = {"text": self.text, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}
        if self.logprobs is not None:
            out["logprobs"] = self.logprobs
        if self.probs is not None:
            out["probs"] = self.probs
        if self.truncated is not None:
            out["truncated"] = self.truncated
        if self.likelihood is not None:
            out["likelihood"] = self.likelihood
        return out

    @classmethod
    def from_cache(cls, value: dict) -> "Completion":
        return cls(value.get("text"), prompt_tokens=value.get("prompt_tokens", 0),
                   completion_tokens=value.get("completion_tokens", 0), cached=True,
                   logprobs=value.get("logprobs"), probs=value.get("probs"), truncated=value.get("truncated"),
                   likelihood=value.get("likelihood"))


@dataclass
class Tally:
    """What one kind of call cost in a run: computed vs served from cache, failures, tokens."""

    new: int = 0
    cached: int = 0
    failed: int = 0  # no usable response (after every retry, or never sent)
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0  # priced from the per-million-token rates of an HTTP server
    loads: int = 0  # local models loaded
