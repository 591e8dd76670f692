"""The teacher that writes synthetic data: a chat backend behind the one cache.

- backend openai: any OpenAI-compatible chat completions server (vLLM, Ollama, OpenAI...);
  base URL and model from the recipe, the API key read from the environment variable the
  recipe names (never stored, logged or cached).
- backend local: a transformers causal LM, sampled with a per-request seed.

Every call is keyed by (teacher identity, decoding, messages, request seed) in a SQLite cache
(`<cache_dir>/teacher.sqlite`), committed as each answer lands, so a rerun or a resumed run
makes no call twice; failed calls are never cached.
"""

import os
from pathlib import Path
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.paths import cache_dir
from iftkit.core.store import JsonStore
from iftkit.models.chat.cache import CachedChat
from iftkit.models.chat.types import GenConfig

SAMPLING_TOP_P = 0.95


class Teacher:
    def __init__(self, backend, model_name: str, gen: GenConfig, root=None):
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
        breaker = getattr(self.backend, "breaker", None)
        return breaker.reason if breaker is not None else None

    def complete_many(self, requests: list[tuple[list[dict], int]]) -> list[Optional[str]]:
        """The teacher's answer to each (messages, seed) request, or None where the call failed."""
        got = self.chat.complete_many([m for m, _ in requests], self.gen, seeds=[s for _, s in requests])
        return [c.text for c in got]


def make_teacher(synth_cfg, model_cfg=None) -> Teacher:
    """The teacher the recipe's data.synth section names (model 'base' = the recipe's base model)."""
    gen = GenConfig(max_new_tokens=synth_cfg.max_tokens, temperature=synth_cfg.temperature,
                    top_p=SAMPLING_TOP_P if synth_cfg.temperature > 0 else 1.0)
    if synth_cfg.backend == "openai":
        from iftkit.models.chat.http import OpenAIChat

        base_url = synth_cfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise IftkitError("data.synth.base_url is not set (nor $OPENAI_BASE_URL): give the server's URL, "
                              "e.g. --data.synth.base_url http://127.0.0.1:8000/v1")
        if synth_cfg.model in ("", "base"):
            raise IftkitError("data.synth.model: name the model the server serves (e.g. --data.synth.model llama3)")
        backend = OpenAIChat(base_url, synth_cfg.model, synth_cfg.api_key_env, synth_cfg.max_concurrency,
                             synth_cfg.max_retries, synth_cfg.timeout_s, backoff_s=0.25)
        return Teacher(backend, synth_cfg.model, gen, synth_cfg.cache_dir)
    from iftkit.config.schema import ModelConfig
    from iftkit.models.chat.local import TransformersChat
    from iftkit.models.resolve import resolve_model

    cfg = model_cfg or ModelConfig()
    if synth_cfg.model != "base":
        cfg = cfg.model_copy(update={"id": synth_cfg.model})
    return Teacher(TransformersChat(cfg, resolve_model(cfg.id, cfg.revision)), cfg.id, gen, synth_cfg.cache_dir)
