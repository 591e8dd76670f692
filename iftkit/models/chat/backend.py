"""The contract every chat backend keeps, and what a backend is built from.

A backend runs a model on chat prompts (lists of {role, content} messages). `CachedChat` puts the
one cache in front of it, keyed by `identity()`; eval generation, the judge and the teacher only
ever talk to that cache. A backend is built from a `LocalModel` (weights on this machine: a model
dir, optionally + a LoRA adapter) or a `Server` (a model someone else serves), as its registration
says (registry.py).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Optional

from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.models.chat.types import Completion, GenConfig

# on_done(index in the request list, its completion): called as each answer lands, so the cache keeps it
OnDone = Optional[Callable[[int, Completion], None]]


@dataclass(frozen=True)
class LocalModel:
    """Weights on this machine."""

    model_cfg: Any  # config.schema.ModelConfig: dtype, quantization, attention; `id` names the model
    path: str  # the resolved model dir
    adapter_path: Optional[str] = None
    adapter_scale: float = AS_TRAINED  # the adapter's LoRA deltas times this; 1 = as trained
    label: str = "model"  # what the run calls it ("base", an adapter's name, "judge")
    batch_size: int = 16


@dataclass(frozen=True)
class Server:
    """A model served over the network; the API key is read from the `api_key_env` variable at call time."""

    base_url: str
    model: str  # the served model name
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = 4
    max_retries: int = 5
    timeout_s: float = 60.0
    backoff_s: float = 1.0
    max_consecutive_failures: int = 5  # circuit breaker: stop calling a dead server


class ChatBackend(ABC):
    """What eval, the judge and the teacher need from a model.

    Must: `identity()` (the cache key's model part: everything that changes the answers, nothing
    that does not) and `complete_many`. May: `choice_probs` (then `supports_probs = True`),
    `answer_nll` (then `supports_likelihood = True`), `load`
    and `unload` (weights held in memory), `loads` (times the weights were loaded, for the run's
    counters) and `breaker` (a server's circuit breaker, whose reason the run reports)."""

    name: Optional[str] = None  # what people call it (judge label, messages); not part of the cache key
    supports_probs: bool = False
    supports_likelihood: bool = False
    loads: int = 0
    breaker = None  # models.chat.http.CircuitBreaker for a server backend

    @abstractmethod
    def identity(self) -> dict:
        """{"backend": registered name, "model": ..., ...}: equal identities must give equal answers."""

    @abstractmethod
    def complete_many(self, messages_list: list, gen: GenConfig, seeds: Optional[list] = None,
                      on_done: OnDone = None) -> list[Completion]:
        """One completion per prompt, in order; a failed request is Completion(None, error=...)."""

    def choice_probs(self, messages_list: list, choices: list[str], prefix: str = "",
                     on_done: OnDone = None) -> list[Completion]:
        """Per prompt, the probability of each choice continuing `prefix` in the assistant's turn
        (Completion.probs, not normalised: the sum is the mass on allowed choices)."""
        raise NotImplementedError(f"{type(self).__name__} gives no choice probabilities")

    def answer_nll(self, messages_list: list, answers: list, max_tokens: int,
                   on_done: OnDone = None) -> list[Completion]:
        """Per prompt, the mean negative log-likelihood per token of the given answer's first max_tokens
        tokens (Completion.likelihood; models/chat/local_likelihood.py)."""
        raise NotImplementedError(f"{type(self).__name__} gives no answer likelihoods")

    def load(self):
        """Load the weights now (otherwise the first request does)."""

    def unload(self) -> None:
        """Free the weights; the next request loads them again."""
