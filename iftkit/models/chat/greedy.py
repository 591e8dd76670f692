"""Greedy decoding of a batch of tokenised prompts over the KV cache: eval generation's fast path.

Every step takes the argmax of each row's last logits, as `model.generate(do_sample=False)` does,
with the same positions (real tokens counted, padding skipped) and the same stop rule (an EOS
token or max_new_tokens). Two things generate does not do:

- a row leaves the batch (and the KV cache) as soon as it ends: generate keeps decoding every row
  until the longest one ends, and the eval's answers vary from 3 to 64 tokens;
- the token prefix every prompt of the batch shares (the chat template's system turn, a judge's
  instructions) runs once and its KV cache is repeated per row; each row's own tokens follow it,
  left-padded: [shared prefix | padding | own tokens].

The arithmetic is the same per row; only float summation order can differ (matmuls of other
shapes), as it already does between generate's batch sizes. tests/models/test_chat_greedy.py
checks the tokens against generate's on a tiny model; scripts/bench_eval.py counts identical
outputs on the real one.
"""

import time
from dataclasses import dataclass

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


def prefix_kv(model, prefix: list[int]) -> list[tuple]:
    """Each layer's (keys, values) for `prefix`, run once as a single row."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([prefix], device=model.device), cache=cache, use_cache=True, logits_to_keep=1)
    return [(layer.keys, layer.values) for layer in cache.layers]


def expanded_cache(model, kv: list[tuple], rows: int):
    """A cache holding `kv` as `rows` identical rows, without copying (the next forward appends per row)."""
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in kv],
                        config=model.config)


def _padded_kv(kv, shared: int, pad: int):
    """A prefilled cache tensor [rows, heads, shared + own, dim] with `pad` zero slots after the prefix."""
    import torch

    if not pad:
        return kv
    zeros = kv.new_zeros(kv.shape[0], kv.shape[1], pad, kv.shape[3])
    return torch.cat([kv[:, :, :shared], zeros, kv[:, :, shared:]], dim=2)


def greedy_decode(model, prompts: list[list[int]], max_new_tokens: int, stop_ids: set, pad_id: int,
                  stats: DecodeStats = None, share_prefix: bool = True, bucket_prefill: bool = True) -> list[list[int]]:
    """New token ids per prompt (ending with the stop token when one came), prompts decoded as one batch.

    share_prefix / bucket_prefill switch a lever off for scripts/bench_eval.py's lever table."""
    import torch
    from transformers import DynamicCache

    stats = stats if stats is not None else DecodeStats()
    device, config = model.device, model.config
    shared = shared_prefix_len(prompts) if share_prefix else 0
    # rows longest first, so each prefill bucket is a run of similar lengths
    alive = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # prompt index of each batch row
    own = [prompts[i][shared:] for i in alive]
    width, n = len(own[0]), len(own)
    out: list[list[int]] = [[] for _ in prompts]
    t = time.process_time()
    with torch.inference_mode():
        prefix = prefix_kv(model, prompts[0][:shared]) if shared else None
        # the batch's rows: [shared prefix | padding | own tokens]; a bucket is prefilled at its own width
        own_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in own], device=device)
        mask = torch.cat([torch.ones(n, shared, dtype=own_mask.dtype, device=device), own_mask], dim=1)
        last = shared + own_mask.sum(-1) - 1
        logits, kvs = [], []
        starts = [0, *(length_buckets([len(p) for p in own]) if bucket_prefill else []), n]
        for a, b in zip(starts, starts[1:]):
            w = len(own[a])
            cache = expanded_cache(model, prefix, b - a) if prefix else DynamicCache(config=config)
            ids = torch.tensor([[pad_id] * (w - len(p)) + p for p in own[a:b]], device=device)
            bucket_mask = mask[a:b, :shared + w] if w == width else torch.cat(
                [mask[a:b, :shared], mask[a:b, shared + width - w:]], dim=1)
            positions = shared + (bucket_mask[:, shared:].cumsum(-1) - 1).clamp(min=0)
            logits.append(model(input_ids=ids, attention_mask=bucket_mask, position_ids=positions, cache=cache,
                                use_cache=True, logits_to_keep=1).logits[:, -1])
            kvs.append([(_padded_kv(layer.keys, shared, width - w), _padded_kv(layer.values, shared, width - w))
                        for layer in cache.layers])
            stats.prefill_tokens += (b - a) * w
        logits = torch.cat(logits)
        cache = DynamicCache(ddp_cache_data=[tuple(torch.cat(kv) for kv in zip(*layer)) for layer in zip(*kvs)],
                             config=config) if len(kvs) > 1 else cache
        stats.prefill_tokens += shared
        stats.shared_tokens += shared * (n - 1)
        stats.prefill_s += time.process_time() - t
        t = time.process_time()
        while True:
            nxt = logits.argmax(-1)
            keep = []
            for j, (row, token) in enumerate(zip(alive, nxt.tolist())):
                out[row].append(token)
                if token not in stop_ids and len(out[row]) < max_new_tokens:
                    keep.append(j)
            if not keep:
                break
            if len(keep) < len(alive):
                sel = torch.tensor(keep, device=device)
                cache.batch_select_indices(sel)
                mask, last, nxt = mask[sel], last[sel], nxt[sel]
                alive = [alive[j] for j in keep]
            mask = torch.cat([mask, mask.new_ones(len(alive), 1)], dim=1)
            last = last + 1
            logits = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last[:, None], cache=cache,
                           use_cache=True).logits[:, -1]
            stats.decode_steps += 1
            stats.decode_rows += len(alive)
    stats.decode_s += time.process_time() - t
    return out
