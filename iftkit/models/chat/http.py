"""The chat backend for any OpenAI-compatible /chat/completions server (vLLM, llama.cpp, Ollama, OpenAI).

Requests run in a bounded thread pool; 429, 5xx, timeouts, dropped connections and bodies
that are not a chat completion are retried with exponential backoff (Retry-After wins when
sent). Other 4xx are final. A circuit breaker stops a run from hammering a dead server: after
`max_consecutive_failures` connection failures in a row (refused, reset, timed out) no further
request is sent, and every remaining one comes back failed with the reason, at once. The API
key is read from the env var the recipe names and only ever goes into the Authorization header.
When `gen.top_logprobs` is set the server is asked for token logprobs (vLLM and llama.cpp
return them; servers that do not simply answer with text).
"""

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from iftkit.models.chat.backend import ChatBackend, OnDone, Server
from iftkit.models.chat.registry import BackendInfo
from iftkit.models.chat.types import Completion, GenConfig

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_WAIT_S = 30.0


class CircuitBreaker:
    """Opens after `limit` consecutive connection failures; any HTTP answer closes the count."""

    def __init__(self, url: str, limit: int = 5):
        self.url, self.limit = url, limit
        self.consecutive = 0
        self.reason: Optional[str] = None  # set once open
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self.reason is not None

    def answered(self) -> None:
        with self._lock:
            if self.reason is None:
                self.consecutive = 0

    def failed(self, error: str) -> None:
        with self._lock:
            self.consecutive += 1
            if self.reason is None and self.consecutive >= self.limit:
                self.reason = f"{self.limit} consecutive connection failures to {self.url} (last: {error})"


class OpenAIChat(ChatBackend):
    def __init__(self, server: Server):
        self.url = server.base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key_env = server.model, server.api_key_env
        self.name = server.model
        self.max_concurrency, self.max_retries = server.max_concurrency, server.max_retries
        self.timeout_s, self.backoff_s = server.timeout_s, server.backoff_s
        self.breaker = CircuitBreaker(self.url, server.max_consecutive_failures)

    def identity(self) -> dict:
        # the server URL is part of the identity: the same model name on two servers may differ
        return {"backend": "openai", "url": self.url, "model": self.model}

    def complete_many(
        self, messages_list: list, gen: GenConfig, seeds: Optional[list] = None, on_done: OnDone = None
    ) -> list[Completion]:
        out: list[Completion] = [None] * len(messages_list)

        def one(i):
            out[i] = self.complete(messages_list[i], gen, seed=seeds[i] if seeds else None)
            if on_done:
                on_done(i, out[i])

        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            for fut in [pool.submit(one, i) for i in range(len(messages_list))]:
                fut.result()
        return out

    def complete(self, messages, gen: GenConfig, seed: Optional[int] = None) -> Completion:
        import requests

        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        payload = {
            "model": self.model,
            "messages": messages,
            "max_tokens": gen.max_new_tokens,
            "temperature": gen.temperature,
        }
        if gen.top_p < 1.0:
            payload["top_p"] = gen.top_p
        if gen.top_logprobs:
            payload.update(logprobs=True, top_logprobs=gen.top_logprobs)
        if gen.continue_final:  # vLLM's names; a server that ignores them answers afresh (the caller checks)
            payload.update(continue_final_message=True, add_generation_prompt=False)
        if seed is not None:
            payload["seed"] = seed
        error, retries = "no attempt", 0
        for attempt in range(self.max_retries + 1):
            if self.breaker.open:
                return Completion(
                    None,
                    error=f"not sent: circuit breaker open after {self.breaker.reason}",
                    retries=retries,
                    not_sent=attempt == 0,
                )
            wait = None
            try:
                r = requests.post(self.url, json=payload, headers=headers, timeout=self.timeout_s)
            except requests.Timeout:
                error = f"timeout after {self.timeout_s:g} s"
                self.breaker.failed(error)
            except requests.ConnectionError as exc:
                error = f"connection error ({type(exc).__name__})"
                self.breaker.failed(error)
            else:
                self.breaker.answered()
                if r.status_code in RETRY_STATUS:
                    error = f"HTTP {r.status_code}"
                    wait = _retry_after(r.headers.get("Retry-After"))
                elif r.status_code >= 400:
                    return Completion(None, error=f"HTTP {r.status_code}: {r.text[:200]}", retries=retries)
                else:
                    parsed = _chat_completion(r)
                    if isinstance(parsed, Completion):
                        parsed.retries = retries
                        return parsed
                    error = parsed
            if attempt < self.max_retries and not self.breaker.open:
                retries += 1
                time.sleep(wait if wait is not None else self._backoff(attempt))
        if self.breaker.open:
            return Completion(None, error=f"circuit breaker open after {self.breaker.reason}", retries=retries)
        return Completion(None, error=f"{error} (after {retries} retries)", retries=retries)

    def _backoff(self, attempt: int) -> float:
        return min(MAX_WAIT_S, self.backoff_s * (2**attempt)) * (0.5 + random.random() / 2)


def _retry_after(value):
    try:
        return min(MAX_WAIT_S, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _chat_completion(r):
    """A Completion, or an error string when the body is not a chat completion (retried)."""
    try:
        data = r.json()
        choice = data["choices"][0]
        text = choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return f"malformed response body ({type(exc).__name__}): {r.text[:80]!r}"
    usage = data.get("usage") or {}
    return Completion(
        text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        logprobs=_token_logprobs(choice),
        # OpenAI-style servers say "length" when max_tokens cut the answer; other layouts: unknown
        truncated={"length": True, "stop": False}.get(choice.get("finish_reason")),
    )


def _token_logprobs(choice: dict) -> Optional[list]:
    """[[token, {alternative: logprob}], ...] from an OpenAI-style `logprobs.content`, or None."""
    try:
        content = (choice.get("logprobs") or {}).get("content")
        if not content:
            return None
        out = []
        for t in content:
            alts = {a["token"]: float(a["logprob"]) for a in t.get("top_logprobs") or []}
            alts.setdefault(t["token"], float(t["logprob"]))
            out.append([t["token"], alts])
        return out
    except (AttributeError, KeyError, TypeError, ValueError):
        return None  # a server with its own logprob layout: the verdict falls back to the text


BACKENDS = (BackendInfo("openai", OpenAIChat, "any OpenAI-compatible /chat/completions server", runs="server"),)
