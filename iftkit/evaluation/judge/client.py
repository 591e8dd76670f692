"""The judge client every judge scorer calls: cache first, backend for the rest.

The cache key is the full prompt plus the judge's identity (backend, URL, model, decoding),
so a rerun makes no calls and a different judge never reuses another's verdicts. Only real
responses are cached (an unparseable verdict is a real response: it is kept verbatim);
requests that failed after every retry are not, so the next run tries them again.
"""

from iftkit.evaluation.counters import Counters
from iftkit.evaluation.fingerprint import json_hash
from iftkit.models.chat_http import Completion
from iftkit.evaluation.sqlite_store import JsonStore


class JudgeClient:
    def __init__(self, backend, store: JsonStore, counters: Counters, input_cost_per_1m: float = 0.0,
                 output_cost_per_1m: float = 0.0):
        self.backend, self.store, self.counters = backend, store, counters
        self.input_cost_per_1m, self.output_cost_per_1m = input_cost_per_1m, output_cost_per_1m
        self.identity = backend.identity()
        self.label = f"{self.identity['backend']}:{self.identity.get('model')}" + (" (weak judge)" if getattr(backend, "weak", False) else "")

    def key(self, messages) -> str:
        return json_hash([self.identity, messages])

    def complete_many(self, prompts: list[list[dict]]) -> list[Completion]:
        keys = [self.key(p) for p in prompts]
        hits = self.store.get_many(sorted(set(keys)))
        results: dict[str, Completion] = {k: Completion(v["text"], cached=True) for k, v in hits.items()}
        todo_keys = [k for k in dict.fromkeys(keys) if k not in results]
        # repeats of one prompt inside a batch are asked once; the repeats count as cached
        self.counters.judge_cached += len(keys) - len(todo_keys)
        if todo_keys:
            first = {k: prompts[keys.index(k)] for k in todo_keys}
            todo = [first[k] for k in todo_keys]

            def done(i, c: Completion):
                self.counters.judge_new += 1
                self.counters.judge_retries += c.retries
                self.counters.judge_prompt_tokens += c.prompt_tokens
                self.counters.judge_completion_tokens += c.completion_tokens
                self.counters.judge_cost += (c.prompt_tokens * self.input_cost_per_1m + c.completion_tokens * self.output_cost_per_1m) / 1e6
                if c.text is None:
                    self.counters.judge_failed += 1
                else:
                    self.store.put_many({todo_keys[i]: {"text": c.text, "prompt_tokens": c.prompt_tokens,
                                                        "completion_tokens": c.completion_tokens}})

            for k, c in zip(todo_keys, self.backend.complete_many(todo, on_done=done)):
                results[k] = c
        return [results[k] for k in keys]
