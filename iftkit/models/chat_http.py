"""A client for any OpenAI-compatible /chat/completions server (vLLM, Ollama, OpenAI).

Used by the LLM judge and by the teacher that writes synthetic data. Requests run in a bounded thread pool; 429, 5xx, timeouts, dropped connections and bodies
that are not a chat completion are retried with exponential backoff (Retry-After wins when
sent). Other 4xx are final. The API key is read from the env var the recipe names and only
ever goes into the Authorization header.
"""

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

from dataclasses import dataclass
from typing import Optional

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_WAIT_S = 30.0


@dataclass
class Completion:
    """One response: text (None when every attempt failed) and what it cost."""

    text: Optional[str]
    error: Optional[str] = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    cached: bool = False


class ChatHttpClient:
    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", max_concurrency: int = 4,
                 max_retries: int = 5, timeout_s: float = 60.0, backoff_s: float = 1.0, max_tokens: int = 48,
                 temperature: float = 0.0):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key_env = model, api_key_env
        self.max_concurrency, self.max_retries, self.timeout_s, self.backoff_s = max_concurrency, max_retries, timeout_s, backoff_s
        self.max_tokens, self.temperature = max_tokens, temperature

    def identity(self) -> dict:
        # the server URL is part of the identity: the same model name on two servers may differ
        return {"backend": "openai", "url": self.url, "model": self.model, "max_tokens": self.max_tokens,
                "temperature": self.temperature}

    def complete_many(self, prompts, on_done=None) -> list[Completion]:
        out = [None] * len(prompts)
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            futures = {pool.submit(self.complete, p): i for i, p in enumerate(prompts)}
            for fut, i in futures.items():
                out[i] = fut.result()
                if on_done:
                    on_done(i, out[i])
        return out

    def complete(self, messages, extra_body: Optional[dict] = None) -> Completion:
        """`extra_body` adds request fields (e.g. a per-request `seed`)."""
        import requests

        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        payload = {"model": self.model, "messages": messages, "max_tokens": self.max_tokens, "temperature": self.temperature,
                   **(extra_body or {})}
        error, retries = "no attempt", 0
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                r = requests.post(self.url, json=payload, headers=headers, timeout=self.timeout_s)
            except requests.Timeout:
                error = f"timeout after {self.timeout_s:g} s"
            except requests.ConnectionError as exc:
                error = f"connection error ({type(exc).__name__})"
            else:
                if r.status_code in RETRY_STATUS:
                    error = f"HTTP {r.status_code}"
                    wait = _retry_after(r.headers.get("Retry-After"))
                elif r.status_code >= 400:
                    return Completion(None, error=f"HTTP {r.status_code}: {r.text[:200]}", retries=retries)
                else:
                    parsed = _chat_text(r)
                    if isinstance(parsed, Completion):
                        parsed.retries = retries
                        return parsed
                    error = parsed
            if attempt < self.max_retries:
                retries += 1
                time.sleep(wait if wait is not None else self._backoff(attempt))
        return Completion(None, error=f"{error} (after {retries} retries)", retries=retries)

    def _backoff(self, attempt: int) -> float:
        return min(MAX_WAIT_S, self.backoff_s * (2 ** attempt)) * (0.5 + random.random() / 2)


def _retry_after(value):
    try:
        return min(MAX_WAIT_S, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _chat_text(r):
    """A Completion, or an error string when the body is not a chat completion (retried)."""
    try:
        data = r.json()
        text = data["choices"][0]["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return f"malformed response body ({type(exc).__name__}): {r.text[:80]!r}"
    usage = data.get("usage") or {}
    return Completion(text, prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0))
