"""Negative log-likelihood of a given answer under a loaded transformers model: forward passes only.

Each (prompt, answer) pair is tokenised exactly as training tokenises an example
(chat_format.chat_example_ids: the prompt's ids as generation sees them, then the answer's
content and end-of-turn tokens), and the answer is cut to its first `max_tokens` tokens. Rows
are sorted by length and run in left-padded batches, positions counting real tokens only (as in
generation), so the answer tokens sit at the end of every row and only their logits are kept.
The value per row is the mean over its answer tokens of -log p(token | everything before it).
"""

from iftkit.models.chat.backend import OnDone
from iftkit.models.chat.types import Completion
from iftkit.models.chat_format import chat_example_ids

# logits kept per batch (rows x kept positions x vocabulary, float32): bounds a batch's memory
# (~400 MB) whatever the vocabulary (49k for SmolLM2, 262k for Gemma 3)
MAX_LOGITS = 100_000_000


def example_ids(tok, messages: list, answer: str, max_tokens: int) -> tuple[list, int, int]:
    """(ids, answer tokens kept, answer tokens in all): the prompt + the answer's first max_tokens tokens."""
    ex = chat_example_ids(tok, messages, [{"role": "assistant", "content": answer}])
    n_prompt = ex["completion_mask"].index(1) if 1 in ex["completion_mask"] else len(ex["input_ids"])
    total = len(ex["input_ids"]) - n_prompt
    kept = min(total, max_tokens)
    return ex["input_ids"][: n_prompt + kept], kept, total


def answer_nll(model, tok, messages_list: list, answers: list, max_tokens: int, batch_size: int,
               on_done: OnDone = None) -> list[Completion]:
    """One Completion per pair, `likelihood` = {nll, tokens, answer_tokens} (callers hold torch.no_grad)."""
    import torch

    rows = [example_ids(tok, m, a, max_tokens) for m, a in zip(messages_list, answers)]
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0]))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    vocab = model.get_output_embeddings().weight.shape[0]
    out: list[Completion] = [None] * len(rows)
    start = 0
    while start < len(order):
        keep = 1 + max(rows[i][1] for i in order[start:start + batch_size])
        n = max(1, min(batch_size, MAX_LOGITS // (keep * vocab)))
        batch = order[start:start + n]
        start += n
        keep = 1 + max(rows[i][1] for i in batch)
        width = max(len(rows[i][0]) for i in batch)
        ids = torch.tensor([[pad] * (width - len(rows[i][0])) + rows[i][0] for i in batch], device=model.device)
        mask = torch.tensor([[0] * (width - len(rows[i][0])) + [1] * len(rows[i][0]) for i in batch],
                            device=model.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False,
                       logits_to_keep=keep).logits[:, -keep:-1].float()
        for b, i in enumerate(batch):
            ids_i, kept, total = rows[i]
            if kept == 0:
                done = Completion(None, error="the answer has no tokens to score", prompt_tokens=len(ids_i))
            else:
                lp = torch.log_softmax(logits[b, keep - 1 - kept:], dim=-1)
                target = torch.tensor(ids_i[-kept:], device=lp.device)
                nll = -lp.gather(-1, target[:, None]).squeeze(-1)
                done = Completion("", prompt_tokens=len(ids_i) - kept, completion_tokens=kept,
                                  truncated=kept < total,
                                  likelihood={"nll": float(nll.mean()), "tokens": kept, "answer_tokens": total})
            out[i] = done
            if on_done:
                on_done(i, done)
    return out
