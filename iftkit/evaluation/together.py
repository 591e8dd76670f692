"""Several adapters that wait to be scored on one machine generate their answers together, into the cache.

A sweep cell's final adapter and its kept checkpoints answer the same prompts. Scored one at a time,
each loads the base model and reads every base weight once per adapter for every token; here they run
in shared batches over one loaded base model (models/chat/mixed.py). The answers go into the generation
cache under each adapter's own key, the one run_eval asks, so each point is then evaluated exactly as
before (its own eval dir, samples.jsonl, state record and resumability) and finds its answers there.

Each adapter asks the prompts, in the order, that run_eval would ask for it alone (pending_generations,
less what the cache already holds), so the batches are the ones it would form and the answers are
equal. Adapters whose asks differ (a resumed point half done) or whose base model differs go in
separate groups; an adapter alone in its group is left to its own eval. Only the transformers backend
mixes adapters; the forgetting suite's likelihoods still run per adapter.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from iftkit.config.schema import Recipe
from iftkit.core.fingerprint import json_hash
from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.evaluate import (
    generation_model_cfg,
    generation_store,
    models_under_test,
    pending_generations,
    suites_and_limits,
)
from iftkit.evaluation.generator import CachedGenerator
from iftkit.evaluation.results import SampleLog
from iftkit.models.chat.factory import DEFAULT_LOCAL_ENGINE
from iftkit.models.chat.mixed import MixedAdapters
from iftkit.models.chat.types import GenConfig


@dataclass
class _Asks:
    """One adapter's missing answers: [(generation limit, cache keys, messages)] in the order run_eval asks them."""

    adapter: str
    base_path: str
    requests: list

    def signature(self) -> str:
        return json_hash([self.base_path, [(limit, messages) for limit, _, messages in self.requests]])


@dataclass
class Together:
    """What one generate_together call did."""

    adapters: int = 0  # adapters that generated in shared batches
    answers: int = 0  # answers generated (all adapters)
    seconds: float = 0.0
    loads: int = 0  # base model loads

    def line(self) -> str:
        return (f"{self.adapters} adapters generated {self.answers} answers together in {self.seconds:.0f} s over "
                f"{self.loads} base model load(s) (sweep.mixed_adapters); their evals read them from the cache")


def generate_together(recipe: Recipe, points: list[tuple[str, Path]]) -> Optional[Together]:
    """Generate, for each (adapter dir, eval dir) in `points`, the answers its run_eval would generate, in
    mixed batches; None where nothing was worth mixing (another backend, or no two adapters ask alike)."""
    if recipe.eval.backend != DEFAULT_LOCAL_ENGINE or len(points) < 2:
        return None
    model_cfg, store = generation_model_cfg(recipe), generation_store(recipe)
    started, done = time.time(), Together()
    try:
        groups: dict = {}
        for adapter, out_dir in points:
            asks = _asks(recipe, model_cfg, store, adapter, Path(out_dir))
            if asks.requests:
                groups.setdefault(asks.signature(), []).append(asks)
        for group in groups.values():
            if len(group) > 1:
                _answer(model_cfg, group, recipe.eval.batch_size, store, done)
    finally:
        store.close()
    if not done.adapters:
        return None
    done.seconds = time.time() - started
    return done


def _asks(recipe: Recipe, model_cfg, store: JsonStore, adapter: str, out_dir: Path) -> _Asks:
    ev = recipe.eval
    [mut] = models_under_test(recipe, [adapter], include_base=False)
    suites, limits = suites_and_limits(recipe, [mut], out_dir, [])
    gen = CachedGenerator(mut, model_cfg, ev, store, Counters(), progress=False)
    _, new_rows = pending_generations(mut, gen, suites, SampleLog(out_dir), limits)
    requests = []
    for (limit, _), todo in new_rows.items():
        messages = [row.prompt for _, row in todo]
        keys = [gen.chat.key("complete", GenConfig(max_new_tokens=limit).identity(), m) for m in messages]
        cached = store.get_many(sorted(set(keys)))
        # what CachedChat would send its backend: each missing key once, first occurrence first
        missing = {k: m for k, m in zip(keys, messages) if k not in cached}
        if missing:
            requests.append((limit, list(missing), list(missing.values())))
    return _Asks(adapter, mut.base_path, requests)


def _answer(model_cfg, group: list[_Asks], batch_size: int, store: JsonStore, done: Together) -> None:
    mixed = MixedAdapters(model_cfg, group[0].base_path, [a.adapter for a in group], batch_size)
    for j, (limit, _, messages) in enumerate(group[0].requests):
        def keep(k: int, i: int, c) -> None:
            if c.text is not None:  # as CachedChat: only real answers are cached
                store.put_many({group[k].requests[j][1][i]: c.to_cache()})
                done.answers += 1

        mixed.complete_many(messages, GenConfig(max_new_tokens=limit), on_done=keep)
    done.adapters += len(group)
    done.loads += mixed.loads
    mixed.unload()
