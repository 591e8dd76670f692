"""The teacher that writes synthetic data: a chat backend behind the one cache.

The backend is data.synth.backend (models/chat/factory.py), e.g. openai: any OpenAI-compatible
chat completions server (vLLM, Ollama, OpenAI...), base URL and model from the recipe, the API key
read from the environment variable the recipe names (never stored, logged or cached); local: a
transformers causal LM, sampled with a per-request seed.

Every call is keyed by (teacher identity, decoding, messages, request seed) in a SQLite cache
(`<cache_dir>/teacher.sqlite`), committed as each answer lands, so a rerun or a resumed run
makes no call twice; failed calls are never cached.
"""

from pathlib import Path
from typing import Optional

from iftkit.core.paths import cache_dir
from iftkit.core.store import JsonStore
from iftkit.models.chat.backend import ChatBackend
from iftkit.models.chat.cache import CachedChat
from iftkit.models.chat.factory import teacher_backend
from iftkit.models.chat.types import GenConfig

SAMPLING_TOP_P = 0.95


class Teacher:
    def __init__(self, backend: ChatBackend, model_name: str, gen: GenConfig, root=None):
        self.backend, self.model_name, self.gen = backend, model_name, gen
        root = Path(root) if root else cache_dir() / "teacher"
        self.store = JsonStore(root / "teacher.sqlite", "teacher")
        self.chat = CachedChat(backend, self.store)

    @property
    def new_calls(self) -> int:
        return self.chat.tally.new - self.chat.tally.failed

    @property
    def cached_calls(self) -> int:
        return self.chat.tally.cached

    @property
    def failed_calls(self) -> int:
        return self.chat.tally.failed

    @property
    def stopped(self) -> Optional[str]:
        """Why the server is no longer called (circuit breaker open), or None."""
        breaker = self.backend.breaker
        return breaker.reason if breaker is not None else None

    def complete_many(self, requests: list[tuple[list[dict], int]]) -> list[Optional[str]]:
        """The teacher's answer to each (messages, seed) request, or None where the call failed."""
        got = self.chat.complete_many([m for m, _ in requests], self.gen, seeds=[s for _, s in requests])
        return [c.text for c in got]


def make_teacher(synth_cfg, model_cfg=None) -> Teacher:
    """The teacher the recipe's data.synth section names (model 'base' = the recipe's base model)."""
    gen = GenConfig(max_new_tokens=synth_cfg.max_tokens, temperature=synth_cfg.temperature,
                    top_p=SAMPLING_TOP_P if synth_cfg.temperature > 0 else 1.0)
    backend = teacher_backend(synth_cfg, model_cfg)
    return Teacher(backend, backend.name, gen, synth_cfg.cache_dir)
