"""Generation for one model under evaluation (base model, or base + LoRA adapter), cached.

Each completion is cached on disk under (model+adapter fingerprint, generation config,
prompt hash): the test set's identity is the set of its prompts, so a rerun of the same test
set generates nothing, and a changed test set generates only its new rows. The model is
loaded only when something is missing from the cache.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from iftkit.config.schema import ModelConfig
from iftkit.errors import IftkitError
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.fingerprint import adapter_fingerprint, json_hash, model_fingerprint
from iftkit.evaluation.sqlite_store import JsonStore


@dataclass
class ModelUnderTest:
    label: str  # "base" or the adapter's name
    base_path: str
    adapter_path: Optional[str] = None
    card: Optional[dict] = None

    def fingerprint(self) -> str:
        parts = [model_fingerprint(self.base_path)]
        if self.adapter_path:
            parts.append(adapter_fingerprint(self.adapter_path))
        return "+".join(parts)


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
    def __init__(self, mut: ModelUnderTest, model_cfg: ModelConfig, store: JsonStore, counters: Counters,
                 max_new_tokens: int, batch_size: int, backend: str = "transformers", progress: bool = True):
        self.mut, self.model_cfg, self.store, self.counters = mut, model_cfg, store, counters
        self.max_new_tokens, self.batch_size, self.backend, self.progress = max_new_tokens, batch_size, backend, progress
        self.gen_config = {"decoding": "greedy", "max_new_tokens": max_new_tokens, "template": "chat+generation_prompt"}
        self._model = self._tok = None

    def key(self, prompt: list[dict]) -> str:
        return json_hash([self.mut.fingerprint(), self.gen_config, prompt])

    def generate(self, prompts: list[list[dict]]) -> list[str]:
        keys = [self.key(p) for p in prompts]
        hits = self.store.get_many(sorted(set(keys)))
        missing = sorted({k: i for i, k in enumerate(keys) if k not in hits}.values())
        self.counters.generations_cached += len(prompts) - len(missing)
        if missing:
            todo = [prompts[i] for i in missing]

            def keep(batch_idx, texts):  # cache each batch as it lands: an interrupted run resumes
                self.store.put_many({keys[missing[j]]: {"text": t} for j, t in zip(batch_idx, texts)})
                self.counters.generations_new += len(texts)

            texts = self._generate_uncached(todo, keep)
            for i, t in zip(missing, texts):
                hits[keys[i]] = {"text": t}
        return [hits[k]["text"] for k in keys]

    def _generate_uncached(self, prompts, on_batch):
        if self.backend == "vllm":
            from iftkit.evaluation.vllm_backend import generate_vllm

            texts = generate_vllm(self.mut, self.model_cfg, prompts, self.max_new_tokens)
            on_batch(list(range(len(prompts))), texts)
            return texts
        from iftkit.evaluation.generation import generate_batched

        model, tok = self.load()
        return generate_batched(model, tok, prompts, self.max_new_tokens, self.batch_size, self.progress,
                                desc=f"generate {self.mut.label}", on_batch=on_batch)

    def load(self):
        if self._model is None:
            self._model, self._tok = load_for_eval(self.mut, self.model_cfg)
            self.counters.models_loaded += 1
        return self._model, self._tok

    def unload(self):
        self._model = self._tok = None


def load_for_eval(mut: ModelUnderTest, model_cfg: ModelConfig):
    from iftkit.models.load import load_model, load_tokenizer

    tok_dir = mut.adapter_path if mut.adapter_path and (Path(mut.adapter_path) / "tokenizer_config.json").is_file() else mut.base_path
    tok = load_tokenizer(tok_dir, trust_remote_code=model_cfg.trust_remote_code)
    model = load_model(model_cfg, path=mut.base_path)
    if mut.adapter_path:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, mut.adapter_path)
    return model.eval(), tok
