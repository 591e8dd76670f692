"""Batched greedy generation with the chat template exactly as in training.

Prompts are rendered with tokenizer.apply_chat_template(messages, add_generation_prompt=True),
sorted by token length (so each batch pads little), left-padded (so every row's new tokens
start at the same column), and generated greedily until EOS or max_new_tokens.
"""

from typing import Callable, Optional

from iftkit.models.generate import chat_prompt_text


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="gen", disable=not enabled, leave=False)


def generate_batched(
    model,
    tokenizer,
    prompts: list[list[dict]],
    max_new_tokens: int = 64,
    batch_size: int = 16,
    progress: bool = True,
    desc: str = "generate",
    on_batch: Optional[Callable[[list[int], list[str]], None]] = None,
) -> list[str]:
    """Generate one completion per chat prompt; `on_batch(indices, texts)` sees each batch
    as it finishes (the caller caches it, so an interrupted run keeps what it made)."""
    import torch

    texts = [chat_prompt_text(tokenizer, p) for p in prompts]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    eos = model.generation_config.eos_token_id or tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[str] = [""] * len(texts)
    saved_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        with _progress(len(texts), desc, progress) as bar:
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                enc = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
                enc = {k: v.to(model.device) for k, v in enc.items()}
                with torch.no_grad():
                    gen = model.generate(
                        **enc, max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None,
                        top_k=None, pad_token_id=pad, eos_token_id=eos,
                    )
                new = gen[:, enc["input_ids"].shape[1]:]
                decoded = [tokenizer.decode(row, skip_special_tokens=True).strip() for row in new]
                for i, text in zip(idx, decoded):
                    out[i] = text
                if on_batch:
                    on_batch(idx, decoded)
                bar.update(len(idx))
    finally:
        tokenizer.padding_side = saved_side
    return out


def count_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
