"""Answers from a loaded transformers model: greedy batches and seeded samples, decoded into Completions.

Greedy prompts are sorted by token length and cut into batches of `batch_size`; each batch runs
through iftkit's own loop over the KV cache (greedy.py), or through model.generate on left-padded
rows where a generation-config logits processor or a non-full-attention cache needs it. Sampled
prompts run one at a time so each request's seed alone fixes its answer.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

from iftkit.models.chat.greedy import DecodeSettings, DecodeStats, fast_greedy_blockers, greedy_decode
from iftkit.models.chat.types import Completion, GenConfig
from iftkit.models.chat_format import stop_token_ids

Finish = Callable[[int, Completion], None]


@dataclass(frozen=True)
class TurnEnds:
    """The token ids that end the model's turn, and the id rows are padded with."""

    eos: list
    pad: int

    @classmethod
    def of(cls, model, tok) -> "TurnEnds":
        return cls(stop_token_ids(tok, model.generation_config),
                   tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)


@dataclass
class GreedyOptions:
    """How a backend runs its greedy batches (TransformersChat's settings, MixedAdapters' fallback)."""

    batch_size: int = 16
    fast: bool = True  # iftkit's own loop (greedy.py); False forces model.generate
    stats: Optional[DecodeStats] = None  # where the fast path's time is tallied
    levers: dict = field(default_factory=dict)  # DecodeSettings levers switched off (scripts/bench_eval.py)


def greedy_answers(model, tok, ends: TurnEnds, texts: list[str], gen: GenConfig, finish: Finish,
                   opts: GreedyOptions) -> None:
    """finish(i, completion) for every prompt text, greedy."""
    prompts = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -len(prompts[i]))
    batches = [order[start:start + opts.batch_size] for start in range(0, len(order), opts.batch_size)]
    if not opts.fast or fast_greedy_blockers(model):
        return _generate_greedy(model, tok, ends, texts, batches, gen, finish)
    settings = DecodeSettings(gen.max_new_tokens, frozenset(ends.eos), ends.pad, **opts.levers)
    for idx in batches:
        [rows] = greedy_decode(model, [prompts[i] for i in idx], settings, opts.stats)
        for i, row in zip(idx, rows):
            finish(i, to_completion(tok, row, len(prompts[i]), gen.max_new_tokens, ends))


def _generate_greedy(model, tok, ends: TurnEnds, texts, batches, gen: GenConfig, finish: Finish) -> None:
    """The same batches through transformers' model.generate (models the fast path does not cover)."""
    import torch

    saved_side = tok.padding_side
    tok.padding_side = "left"
    try:
        for idx in batches:
            enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            with torch.no_grad():
                ids = model.generate(**enc, max_new_tokens=gen.max_new_tokens, do_sample=False, temperature=None,
                                     top_p=None, top_k=None, pad_token_id=ends.pad, eos_token_id=ends.eos)
            # a row's real tokens are its prompt's own (left padding is masked out)
            lengths = enc["attention_mask"].sum(-1).tolist()
            for i, n, row in zip(idx, lengths, ids[:, enc["input_ids"].shape[1]:]):
                finish(i, to_completion(tok, row.tolist(), n, gen.max_new_tokens, ends))
    finally:
        tok.padding_side = saved_side


def sampled_answer(model, tok, text: str, gen: GenConfig, seed: Optional[int], ends: TurnEnds) -> Completion:
    import torch

    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    if seed is not None:
        torch.manual_seed(seed % (2 ** 31))
    with torch.no_grad():
        ids = model.generate(**enc, max_new_tokens=gen.max_new_tokens, do_sample=True, temperature=gen.temperature,
                             top_p=gen.top_p, pad_token_id=ends.pad, eos_token_id=ends.eos)
    return to_completion(tok, ids[0, enc["input_ids"].shape[1]:].tolist(), enc["input_ids"].shape[1],
                         gen.max_new_tokens, ends)


def to_completion(tok, ids: list[int], prompt_tokens: int, limit: int, ends: TurnEnds) -> Completion:
    """The answer in new token ids: counted up to the first turn end, truncated when the limit cut it."""
    stops = set(ends.eos) | {ends.pad}
    stop = next((k + 1 for k, t in enumerate(ids) if t in stops), None)
    text = tok.decode(ids, skip_special_tokens=True).strip()
    return Completion(text, prompt_tokens=prompt_tokens, completion_tokens=stop or len(ids),
                      truncated=stop is None and len(ids) >= limit)
