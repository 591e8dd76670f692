"""Greedy decoding of a batch of tokenised prompts over the KV cache: eval generation's fast path.

Every step takes the argmax of each row's last logits, as `model.generate(do_sample=False)` does,
with the same positions (real tokens counted, padding skipped) and the same stop rule (an EOS
token or max_new_tokens). Two things generate does not do:

- a row leaves the batch (and the KV cache) as soon as it ends: generate keeps decoding every row
  until the longest one ends, and the eval's answers vary from 3 to 64 tokens;
- the token prefix every prompt of the batch shares (the chat template's system turn, a judge's
  instructions) runs once and its KV cache is repeated per row; each row's own tokens follow it,
  left-padded: [shared prefix | padding | own tokens].

The same loop runs several LoRA adapters of one loaded model at once (PEFT mixed batches,
models/chat/mixed.py), each row under its adapter's name.

The arithmetic is the same per row; only float summation order can differ (matmuls of other
shapes), as it already does between generate's batch sizes. tests/models/test_chat_greedy.py
checks the tokens against generate's on a tiny model; scripts/bench_eval.py counts identical
outputs on the real one.
"""

import time
from dataclasses import dataclass
from typing import Optional

# generation_config fields that add a logits processor changing greedy choices: with any of them
# set, eval falls back to model.generate so the processor applies
_PROCESSOR_FIELDS = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "sequence_bias": None,
    "min_length": 0,
    "min_new_tokens": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "forced_decoder_ids": None,
}


# a forward pass's fixed cost (reading every weight once, Python overhead) in padded tokens
# worth (~16 in fp32, ~40 in bf16 on the 2-core AMD EPYC of the README): it decides how finely
# prompts are bucketed by length for prefill
FORWARD_COST_TOKENS = 24


@dataclass
class DecodeStats:
    """Where greedy decoding's time went (process CPU seconds), accumulated over calls."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    prefill_tokens: int = 0  # tokens the model ran in prefills (a shared prefix once, padding included)
    shared_tokens: int = 0  # prompt tokens not run again thanks to a shared prefix
    decode_steps: int = 0
    decode_rows: int = 0  # rows summed over decode steps (= tokens decoded)


def fast_greedy_blockers(model) -> list[str]:
    """Why this model needs model.generate for greedy decoding (empty: the fast path applies)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    gc = getattr(model, "generation_config", None)
    why = [f"generation_config.{k}" for k, off in _PROCESSOR_FIELDS.items()
           if getattr(gc, k, None) not in (None, off, [])]
    # middle padding and row selection are plain tensor edits only on full-attention layers
    layers = DynamicCache(config=model.config).layers
    if any(type(layer) is not DynamicLayer for layer in layers):
        why.append("cache layers other than full attention")
    return why


def shared_prefix_len(prompts: list[list[int]]) -> int:
    """Tokens at the start of every prompt, leaving each prompt at least one token of its own."""
    if len(prompts) < 2:
        return 0
    first, n = prompts[0], min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        n = next((k for k in range(n) if p[k] != first[k]), n)
    return max(n, 0)


def length_buckets(lengths: list[int], forward_cost: int = FORWARD_COST_TOKENS) -> list[int]:
    """Where to cut rows sorted longest first into prefill buckets: the cuts minimising
    padded tokens + forward_cost per bucket (exact, O(n^2) dynamic programming). Returns the
    start index of every bucket after the first."""
    n = len(lengths)
    best, cut = [0] + [None] * n, [0] * (n + 1)
    for j in range(1, n + 1):
        best[j], cut[j] = min((best[i] + forward_cost + (j - i) * lengths[i], i) for i in range(j))
    starts, j = [], n
    while j:
        j = cut[j]
        starts.append(j)
    return sorted(starts)[1:]


def prefix_kv(model, prefix: list[int], adapter: Optional[str] = None) -> list[tuple]:
    """Each layer's (keys, values) for `prefix`, run once as a single row (under `adapter` in a mixed batch:
    LoRA changes the k/v projections, so a prefix's cache belongs to one adapter)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([prefix], device=model.device), cache=cache, use_cache=True, logits_to_keep=1,
          **_adapter_kw([adapter]))
    return [(layer.keys, layer.values) for layer in cache.layers]


def expanded_cache(model, kv: list[tuple], rows: int):
    """A cache holding `kv` as `rows` identical rows, without copying (the next forward appends per row)."""
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in kv],
                        config=model.config)


def _prefix_cache(model, prefixes: list, rows: int):
    """The cache of a bucket holding `rows` rows per adapter, each adapter's rows starting from its own prefix."""
    import torch
    from transformers import DynamicCache

    if len(prefixes) == 1:
        return expanded_cache(model, prefixes[0], rows)
    layers = zip(*prefixes)  # per layer: every adapter's (keys, values)
    return DynamicCache(ddp_cache_data=[
        tuple(torch.cat([t.expand(rows, -1, -1, -1) for t in kv]) for kv in zip(*per_adapter))
        for per_adapter in layers], config=model.config)


def _padded_kv(kv, shared: int, pad: int):
    """A prefilled cache tensor [rows, heads, shared + own, dim] with `pad` zero slots after the prefix."""
    import torch

    if not pad:
        return kv
    zeros = kv.new_zeros(kv.shape[0], kv.shape[1], pad, kv.shape[3])
    return torch.cat([kv[:, :, :shared], zeros, kv[:, :, shared:]], dim=2)


def _adapter_kw(names: list) -> dict:
    """The forward's per-row adapter names (PEFT mixed batches); none where the model runs as loaded."""
    return {} if all(n is None for n in names) else {"adapter_names": list(names)}


@dataclass(frozen=True)
class DecodeSettings:
    """When a row stops, what pads it, and the two levers scripts/bench_eval.py switches off for its table."""

    max_new_tokens: int
    stop_ids: frozenset
    pad_id: int
    share_prefix: bool = True  # the prompts' common prefix runs once
    bucket_prefill: bool = True  # prompts prefill in buckets of similar length


@dataclass(frozen=True)
class _Layout:
    """A batch's rows: (adapter index, prompt index) each, longest first; the row each prefill bucket starts at
    (plus the end); the adapters' names; the tokens every prompt shares."""

    rows: list
    starts: list
    names: list
    shared: int


def greedy_decode(model, prompts: list[list[int]], settings: DecodeSettings, stats: DecodeStats = None,
                  adapters: list = (None,)) -> list[list[list[int]]]:
    """New token ids [adapter][prompt] (ending with the stop token when one came), decoded as one batch.
    `adapters`: PEFT adapter names loaded into `model` ("__base__" for the base model, models/chat/mixed.py);
    None runs the model as loaded.

    The batch-composition rule that makes each adapter's answers those of its prompts decoded alone: every
    adapter's rows of a prefill bucket are the rows one adapter alone puts in that bucket (the buckets are cut
    over one adapter's lengths, then every adapter's copy of a bucket is prefilled together, at the bucket's
    width), and each adapter's shared-prefix cache is computed from its own weights. A row sees the same
    tokens, padding, positions and weights as alone; only the matmuls' row counts differ."""
    import torch

    stats = stats if stats is not None else DecodeStats()
    lay = _layout(prompts, list(adapters), settings)
    out = [[[] for _ in prompts] for _ in lay.names]
    t = time.process_time()
    with torch.inference_mode():
        prefixes = [prefix_kv(model, prompts[0][:lay.shared], name) for name in lay.names] if lay.shared else None
        logits, cache, mask, last = _prefill(model, prompts, lay, prefixes, settings.pad_id, stats)
        # decode rows adapter by adapter, each adapter's in the order it has alone: every adapter's
        # rows are one contiguous run (LoRA deltas on slices, no gathers)
        order = sorted(range(len(lay.rows)), key=lambda j: lay.rows[j][0])
        if len(lay.names) > 1:
            sel = torch.tensor(order, device=model.device)
            cache.batch_select_indices(sel)
            logits, mask, last = logits[sel], mask[sel], last[sel]
        alive = [lay.rows[j] for j in order]
        stats.prefill_s += time.process_time() - t
        t = time.process_time()
        while True:
            nxt = logits.argmax(-1)
            keep = []
            for j, ((k, i), token) in enumerate(zip(alive, nxt.tolist())):
                out[k][i].append(token)
                if token not in settings.stop_ids and len(out[k][i]) < settings.max_new_tokens:
                    keep.append(j)
            if not keep:
                break
            if len(keep) < len(alive):
                sel = torch.tensor(keep, device=model.device)
                cache.batch_select_indices(sel)
                mask, last, nxt = mask[sel], last[sel], nxt[sel]
                alive = [alive[j] for j in keep]
            mask = torch.cat([mask, mask.new_ones(len(alive), 1)], dim=1)
            last = last + 1
            logits = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last[:, None], cache=cache,
                           use_cache=True, **_adapter_kw([lay.names[k] for k, _ in alive])).logits[:, -1]
            stats.decode_steps += 1
            stats.decode_rows += len(alive)
    stats.decode_s += time.process_time() - t
    return out


def _layout(prompts: list[list[int]], names: list, settings: DecodeSettings) -> _Layout:
    """Rows are longest first, so each bucket is a run of similar lengths; the cuts are those of one adapter's
    rows, and a bucket holds every adapter's copy of its prompts."""
    shared = shared_prefix_len(prompts) if settings.share_prefix else 0
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    lengths = [len(prompts[i]) - shared for i in order]
    cuts = [0, *(length_buckets(lengths) if settings.bucket_prefill else []), len(order)]
    rows, starts = [], []
    for a, b in zip(cuts, cuts[1:]):
        starts.append(len(rows))
        rows += [(k, i) for k in range(len(names)) for i in order[a:b]]
    return _Layout(rows, starts + [len(rows)], names, shared)


def _prefill(model, prompts, lay: _Layout, prefixes: Optional[list], pad_id: int, stats: DecodeStats):
    """Every row's last logits and the batch's cache: rows [shared prefix | padding | own tokens], a bucket
    prefilled at its own width. Returns (logits, cache, attention mask, each row's last position)."""
    import torch
    from transformers import DynamicCache

    device, config, shared, names = model.device, model.config, lay.shared, lay.names
    own = [prompts[i][shared:] for _, i in lay.rows]
    width, n = len(own[0]), len(own)
    own_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in own], device=device)
    mask = torch.cat([torch.ones(n, shared, dtype=own_mask.dtype, device=device), own_mask], dim=1)
    last = shared + own_mask.sum(-1) - 1
    logits, kvs = [], []
    for a, b in zip(lay.starts, lay.starts[1:]):
        w = len(own[a])
        cache = _prefix_cache(model, prefixes, (b - a) // len(names)) if prefixes else DynamicCache(config=config)
        ids = torch.tensor([[pad_id] * (w - len(p)) + p for p in own[a:b]], device=device)
        bucket_mask = mask[a:b, :shared + w] if w == width else torch.cat(
            [mask[a:b, :shared], mask[a:b, shared + width - w:]], dim=1)
        positions = shared + (bucket_mask[:, shared:].cumsum(-1) - 1).clamp(min=0)
        logits.append(model(input_ids=ids, attention_mask=bucket_mask, position_ids=positions, cache=cache,
                            use_cache=True, logits_to_keep=1, **_adapter_kw([names[k] for k, _ in lay.rows[a:b]]))
                      .logits[:, -1])
        kvs.append([(_padded_kv(layer.keys, shared, width - w), _padded_kv(layer.values, shared, width - w))
                    for layer in cache.layers])
        stats.prefill_tokens += (b - a) * w
    cache = DynamicCache(ddp_cache_data=[tuple(torch.cat(kv) for kv in zip(*layer)) for layer in zip(*kvs)],
                         config=config) if len(kvs) > 1 else cache
    stats.prefill_tokens += shared * len(names)
    stats.shared_tokens += shared * (n - len(names))
    return torch.cat(logits), cache, mask, last
