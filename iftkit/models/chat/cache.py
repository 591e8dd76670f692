"""The one content-keyed cache in front of any chat backend.

Every call is keyed by (backend identity, kind of call, its settings, the messages[, seed]):
the backend identity names the weights (model + adapter fingerprints) or the server URL and
model, so a rerun makes no calls and a different model never reuses another's answers. Only
real answers are cached; a request that failed after its retries (or was never sent because
the circuit breaker was open) is not, so the next run asks again. Each answer is stored as
it lands, so an interrupted run keeps what it paid for.
"""

import threading
from typing import Optional

from iftkit.core.fingerprint import json_hash
from iftkit.core.store import JsonStore
from iftkit.models.chat.backend import ChatBackend
from iftkit.models.chat.types import Completion, GenConfig, Tally

# bump when what a key covers changes (an identity field, a call's settings): entries under other versions are
# never served, and are asked again
CACHE_VERSION = 2


class CachedChat:
    def __init__(self, backend: ChatBackend, store: JsonStore, tally: Optional[Tally] = None, progress: bool = False,
                 desc: str = "chat", input_cost_per_1m: float = 0.0, output_cost_per_1m: float = 0.0):
        self.backend, self.store = backend, store
        self.tally = tally if tally is not None else Tally()
        self.progress, self.desc = progress, desc
        self.input_cost_per_1m, self.output_cost_per_1m = input_cost_per_1m, output_cost_per_1m
        self.identity = backend.identity()
        self._lock = threading.Lock()

    @property
    def supports_probs(self) -> bool:
        return self.backend.supports_probs

    def key(self, kind: str, spec, messages, seed: Optional[int] = None) -> str:
        return json_hash([CACHE_VERSION, self.identity, kind, spec, messages] + ([seed] if seed is not None else []))

    def complete_many(self, messages_list: list, gen: GenConfig, seeds: Optional[list] = None,
                      desc: Optional[str] = None) -> list[Completion]:
        seeds = list(seeds) if seeds is not None else [None] * len(messages_list)
        keys = [self.key("complete", gen.identity(), m, s) for m, s in zip(messages_list, seeds)]
        with _Pending(self, keys, desc) as ask:
            if ask.todo:
                todo_seeds = [seeds[i] for i in ask.todo]
                ask.got = self.backend.complete_many([messages_list[i] for i in ask.todo], gen,
                                                     seeds=todo_seeds if any(s is not None for s in todo_seeds)
                                                     else None, on_done=ask.done)
        return ask.answers()

    def choice_probs(self, messages_list: list, choices: list[str], prefix: str = "",
                     desc: Optional[str] = None) -> list[Completion]:
        keys = [self.key("choice_probs", {"choices": list(choices), "prefix": prefix}, m)
                for m in messages_list]
        with _Pending(self, keys, desc) as ask:
            if ask.todo:
                ask.got = self.backend.choice_probs([messages_list[i] for i in ask.todo], choices, prefix,
                                                    on_done=ask.done)
        return ask.answers()

    @property
    def supports_likelihood(self) -> bool:
        return self.backend.supports_likelihood

    def answer_nll(self, messages_list: list, answers: list, max_tokens: int,
                   desc: Optional[str] = None) -> list[Completion]:
        """The backend's answer_nll, each (prompt, answer, max_tokens) computed once per model identity."""
        keys = [self.key("answer_nll", {"answer": a, "max_tokens": max_tokens}, m)
                for m, a in zip(messages_list, answers)]
        with _Pending(self, keys, desc) as ask:
            if ask.todo:
                ask.got = self.backend.answer_nll([messages_list[i] for i in ask.todo],
                                                  [answers[i] for i in ask.todo], max_tokens, on_done=ask.done)
        return ask.answers()

    def _count(self, c: Completion) -> None:
        t = self.tally
        t.new += 1
        t.retries += c.retries
        t.failed += c.text is None
        t.prompt_tokens += c.prompt_tokens
        t.completion_tokens += c.completion_tokens
        t.cost += (c.prompt_tokens * self.input_cost_per_1m + c.completion_tokens * self.output_cost_per_1m) / 1e6


class _Pending:
    """One request list against the cache: what it already holds, `todo` (the first index of every key it
    lacks, the requests the backend is sent) and `done`, which stores each answer as it lands. The caller
    calls the backend itself, inside the block, so no cache frame sits between it and the model."""

    def __init__(self, chat: CachedChat, keys: list[str], desc: Optional[str]):
        self.chat, self.keys, self.desc = chat, keys, desc or chat.desc
        self.results = {k: Completion.from_cache(v) for k, v in chat.store.get_many(sorted(set(keys))).items()}
        self.missing = [k for k in dict.fromkeys(keys) if k not in self.results]
        # repeats of one request inside a batch are asked once; the repeats count as cached
        chat.tally.cached += len(keys) - len(self.missing)
        first = {k: keys.index(k) for k in self.missing}
        self.todo = [first[k] for k in self.missing]
        self.got: list = []
        self._bar = None

    def __enter__(self) -> "_Pending":
        if self.missing:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=len(self.missing), desc=self.desc, unit="call", disable=not self.chat.progress,
                             leave=False)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()

    def done(self, j: int, c: Completion) -> None:
        chat = self.chat
        with chat._lock:
            chat._count(c)
            if c.text is not None:
                chat.store.put_many({self.missing[j]: c.to_cache()})
            self._bar.update(1)

    def answers(self) -> list[Completion]:
        self.results.update(zip(self.missing, self.got))
        return [self.results[k] for k in self.keys]
