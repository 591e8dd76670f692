"""Teacher backends for synthetic data, behind one on-disk cache.

- OpenAITeacher: any OpenAI-compatible chat completions server (vLLM, Ollama, OpenAI...);
  base URL and model from the recipe, the API key read from the environment variable the
  recipe names (never stored, logged or cached).
- LocalTeacher: a transformers causal LM, sampled with a per-request seed.

`CachedTeacher` keys every call by (teacher identity, messages, request seed); a finished call
is one JSON file written atomically, so a rerun or a resumed run makes no call twice.
"""

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

from iftkit.errors import IftkitError
from iftkit.io.atomic import write_json_atomic
from iftkit.paths import cache_dir


class TeacherError(Exception):
    """A call failed after its retries (kept per request, never cached)."""


class OpenAITeacher:
    def __init__(self, model: str, base_url: Optional[str] = None, api_key_env: str = "OPENAI_API_KEY",
                 temperature: float = 0.7, max_tokens: int = 256, timeout_s: float = 60.0, max_retries: int = 3):
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise IftkitError("data.synth.base_url is not set (nor $OPENAI_BASE_URL): give the server's URL, "
                              "e.g. --data.synth.base_url http://127.0.0.1:8000/v1")
        if model in ("", "base"):
            raise IftkitError("data.synth.model: name the model the server serves (e.g. --data.synth.model llama3)")
        from iftkit.models.chat_http import ChatHttpClient

        self.model, self.temperature, self.max_tokens = model, temperature, max_tokens
        self._client = ChatHttpClient(base_url, model, api_key_env, max_concurrency=1, max_retries=max_retries,
                                      timeout_s=timeout_s, backoff_s=0.25, max_tokens=max_tokens, temperature=temperature)

    def identity(self) -> dict:
        return {"backend": "openai", "model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def complete(self, messages: list[dict], seed: int) -> str:
        reply = self._client.complete(messages, extra_body={"seed": seed})
        if reply.text is None:
            raise TeacherError(f"{self._client.url}: {reply.error}")
        return reply.text


class LocalTeacher:
    def __init__(self, model_cfg, temperature: float = 0.7, max_tokens: int = 256):
        from iftkit.models.load import load_model_and_tokenizer

        self.model_id = model_cfg.id
        self.model, self.tokenizer = load_model_and_tokenizer(model_cfg)
        self.model.eval()
        self.temperature, self.max_tokens = temperature, max_tokens
        self._lock = threading.Lock()  # one generate at a time on a local model

    def identity(self) -> dict:
        return {"backend": "local", "model": self.model_id, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def complete(self, messages: list[dict], seed: int) -> str:
        import torch

        from iftkit.models.generate import chat_prompt_text

        with self._lock:
            tok = self.tokenizer
            enc = tok(chat_prompt_text(tok, messages), return_tensors="pt", add_special_tokens=False)
            enc = {k: v.to(self.model.device) for k, v in enc.items()}
            torch.manual_seed(seed % (2 ** 31))
            sample = self.temperature > 0
            kwargs = dict(do_sample=sample, temperature=self.temperature, top_p=0.95) if sample else dict(do_sample=False)
            with torch.no_grad():
                out = self.model.generate(**enc, max_new_tokens=self.max_tokens, pad_token_id=tok.pad_token_id, **kwargs)
            return tok.decode(out[0][enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()


class CachedTeacher:
    """Wraps a backend with the disk cache; counts new and cached calls."""

    def __init__(self, backend, root=None, max_concurrency: int = 4):
        self.backend = backend
        self.root = Path(root) if root else cache_dir() / "teacher"
        self.max_concurrency = max_concurrency
        self.new_calls = 0
        self.cached_calls = 0
        self.failed_calls = 0
        self._lock = threading.Lock()

    def key(self, messages, seed: int) -> str:
        blob = json.dumps({"teacher": self.backend.identity(), "messages": messages, "seed": seed}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def cached(self, messages, seed: int) -> Optional[str]:
        path = self._path(self.key(messages, seed))
        if path.is_file():
            try:
                return json.loads(path.read_text())["response"]
            except (ValueError, KeyError):
                return None  # a torn file from another tool: call again
        return None

    def complete(self, messages, seed: int) -> Optional[str]:
        """The teacher's answer (from cache when present), or None when the call failed."""
        hit = self.cached(messages, seed)
        if hit is not None:
            with self._lock:
                self.cached_calls += 1
            return hit
        try:
            text = self.backend.complete(messages, seed)
        except TeacherError:
            with self._lock:
                self.failed_calls += 1
            return None
        path = self._path(self.key(messages, seed))
        write_json_atomic(path, {"teacher": self.backend.identity(), "seed": seed, "response": text})
        with self._lock:
            self.new_calls += 1
        return text

    def complete_many(self, requests: list[tuple[list[dict], int]]) -> list[Optional[str]]:
        if len(requests) <= 1 or self.max_concurrency <= 1:
            return [self.complete(m, s) for m, s in requests]
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            return list(pool.map(lambda r: self.complete(*r), requests))


def make_teacher(synth_cfg, model_cfg=None):
    """The backend the recipe's data.synth section names (model 'base' = the recipe's base model)."""
    if synth_cfg.backend == "openai":
        return OpenAITeacher(synth_cfg.model, synth_cfg.base_url, synth_cfg.api_key_env, synth_cfg.temperature,
                             synth_cfg.max_tokens, synth_cfg.timeout_s, synth_cfg.max_retries)
    from iftkit.config.schema import ModelConfig

    cfg = model_cfg or ModelConfig()
    if synth_cfg.model != "base":
        cfg = cfg.model_copy(update={"id": synth_cfg.model})
    return LocalTeacher(cfg, synth_cfg.temperature, synth_cfg.max_tokens)
