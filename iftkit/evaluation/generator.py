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

from iftkit.config.schema import ModelConfig
from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import adapter_fingerprint, model_fingerprint
from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.models.chat.backend import LocalModel
from iftkit.models.chat.cache import CACHE_VERSION, CachedChat
from iftkit.models.chat.factory import eval_backend
from iftkit.models.chat.types import Completion, GenConfig


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
    """Greedy generation for one model under test, through the chat backend `backend` names and its cache."""

    def __init__(self, mut: ModelUnderTest, model_cfg: ModelConfig, store: JsonStore, counters: Counters,
                 max_new_tokens: int, batch_size: int, backend: str = "transformers", progress: bool = True):
        self.mut, self.counters = mut, counters
        self.max_new_tokens = max_new_tokens  # the default limit; a suite can ask for its own
        self.dtype = model_cfg.dtype
        self.backend = eval_backend(backend, LocalModel(model_cfg, mut.base_path, mut.adapter_path, mut.adapter_scale,
                                                        mut.label, batch_size))
        self.chat = CachedChat(self.backend, store, counters.generations, progress, desc=f"generate {mut.label}")

    @property
    def gen_config(self) -> dict:
        return self.config_for(self.max_new_tokens)

    def config_for(self, max_new_tokens: int) -> dict:
        """What a stored prediction in samples.jsonl must match to be reused."""
        # the weights' precision too: other precision, other answers
        return {"decoding": "greedy", "max_new_tokens": max_new_tokens, "template": "chat+generation_prompt",
                "dtype": self.dtype, "cache_version": CACHE_VERSION}

    def generate(self, prompts: list[list[dict]]) -> list[str]:
        return [c.text for c in self.answers(prompts)]

    def answers(self, prompts: list[list[dict]], max_new_tokens: Optional[int] = None) -> list[Completion]:
        """One completion per prompt, each saying whether the length limit cut it (`truncated`)."""
        limit = max_new_tokens or self.max_new_tokens
        loads = self.backend.loads
        got = self.chat.complete_many(prompts, GenConfig(max_new_tokens=limit))
        self.counters.models_loaded += self.backend.loads - loads
        return got

    def unload(self):
        self.backend.unload()
