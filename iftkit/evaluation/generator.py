"""Generation for one model under evaluation (base model, or base + LoRA adapter), cached.

Each completion goes through the chat backend's cache, keyed by (model+adapter fingerprint,
generation config, prompt): the test set's identity is the set of its prompts, so a rerun of
the same test set generates nothing, and a changed test set generates only its new rows. The
model is loaded only when something is missing from the cache.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from iftkit.config.schema import EvalConfig, ModelConfig
from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import adapter_fingerprint, model_fingerprint
from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.models.chat.backend import LocalModel
from iftkit.models.chat.cache import CACHE_VERSION, CachedChat
from iftkit.models.chat.factory import DEFAULT_LOCAL_ENGINE, eval_backend
from iftkit.models.chat.types import Completion


@dataclass
class ModelUnderTest:
    label: str  # "base" or the adapter's name
    base_path: str
    adapter_path: Optional[str] = None
    card: Optional[dict] = None
    adapter_scale: float = AS_TRAINED  # the adapter's LoRA deltas times this (WiSE-FT); 1 = as trained

    def fingerprint(self) -> str:
        parts = [model_fingerprint(self.base_path)]
        if self.adapter_path:
            parts.append(adapter_fingerprint(self.adapter_path))
        scale = f"*{self.adapter_scale:g}" if self.adapter_scale != AS_TRAINED else ""
        return "+".join(parts) + scale


def read_adapter_card(path) -> dict:
    path = Path(path)
    if not (path / "adapter_config.json").is_file():
        raise IftkitError(f"--adapters: {path} is not a PEFT adapter dir (no adapter_config.json)")
    card_file = path / "adapter_card.json"
    if not card_file.is_file():
        return {}
    try:
        return json.loads(card_file.read_text())
    except json.JSONDecodeError as exc:
        raise IftkitError(f"{card_file}:{exc.lineno}: invalid JSON ({exc.msg})") from None


class CachedGenerator:
    """Greedy generation for one model under test, through the chat backend eval.backend names and its cache:
    `chat.complete_many` answers (a model is loaded only for what the cache lacks)."""

    def __init__(self, mut: ModelUnderTest, model_cfg: ModelConfig, ev: EvalConfig, store: JsonStore,
                 counters: Counters, progress: bool = True):
        self.mut, self.counters = mut, counters
        self.max_new_tokens = ev.max_new_tokens  # the default limit; a suite can ask for its own
        self.dtype = model_cfg.dtype
        self._local = LocalModel(model_cfg, mut.base_path, mut.adapter_path, mut.adapter_scale, mut.label,
                                 ev.batch_size)
        self.backend = eval_backend(ev.backend, self._local)
        self.chat = CachedChat(self.backend, store, counters.generations, progress, desc=f"generate {mut.label}")
        self._store, self._progress, self._likelihood = store, progress, None
        self._loads_counted = 0

    def config_for(self, max_new_tokens: int) -> dict:
        """What a stored prediction in samples.jsonl must match to be reused."""
        # the weights' precision too: other precision, other answers
        return {"decoding": "greedy", "max_new_tokens": max_new_tokens, "template": "chat+generation_prompt",
                "dtype": self.dtype, "cache_version": CACHE_VERSION}

    def likelihood_config(self, max_tokens: int) -> dict:
        """What a stored likelihood in samples.jsonl must match to be reused."""
        return {"measure": "answer_nll", "max_tokens": max_tokens, "template": "chat, as trained",
                "dtype": self.dtype, "cache_version": CACHE_VERSION}

    def answer_nll(self, prompts: list[list[dict]], answers: list[str], max_tokens: int) -> list[Completion]:
        """Per prompt, the NLL of the given answer (Completion.likelihood), cached per model fingerprint."""
        if self._likelihood is None:
            if self.backend.supports_likelihood:
                backend = self.backend
            else:  # a serving engine (vLLM) generates; the forward passes run on transformers, after it
                self.backend.unload()
                backend = eval_backend(DEFAULT_LOCAL_ENGINE, self._local)
            self._likelihood = CachedChat(backend, self._store, self.counters.likelihood, self._progress,
                                          desc=f"likelihood {self.mut.label}")
        return self._likelihood.answer_nll(prompts, answers, max_tokens)

    def unload(self) -> None:
        """Free the weights, and count the loads this model cost so far (counters.models_loaded)."""
        backends = {id(b): b for b in (self.backend, self._likelihood and self._likelihood.backend) if b is not None}
        loads = sum(b.loads for b in backends.values())
        self.counters.models_loaded += loads - self._loads_counted
        self._loads_counted = loads
        for b in backends.values():
            b.unload()
