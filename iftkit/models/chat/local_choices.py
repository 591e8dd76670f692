"""Choice probabilities from a loaded transformers model: one forward pass per leaf of each prompt's trie.

Each prompt's trie (choices.py) names the token paths whose next-token distributions decide the
verdict. One row per leaf (prompt + leaf path): its last positions' logits are the distributions at
every trie node on the way. Rows are sorted by length and run in left-padded batches; the tokens
every row of a batch shares (the judge's instructions) run once, shared through the KV cache.
"""

from iftkit.models.chat.backend import OnDone
from iftkit.models.chat.choices import ChoiceTrie
from iftkit.models.chat.greedy import expanded_cache, prefix_kv, shared_prefix_len
from iftkit.models.chat.types import Completion


def trie_choice_probs(model, tok, texts: list[str], choices: list[str], batch_size: int, share_prefix: bool,
                      on_done: OnDone = None) -> list[Completion]:
    """P(choice | text) for each allowed choice, per prompt text (the chat prompt rendered, plus the assistant's
    prefix; callers hold torch.no_grad)."""
    import torch

    tries = [ChoiceTrie.build([tok(text + c, add_special_tokens=False)["input_ids"] for c in choices])
             for text in texts]
    leaves = [t.leaves() for t in tries]
    rows = [(i, path, t.base + list(path)) for i, t in enumerate(tries) for path in leaves[i]]
    rows.sort(key=lambda r: -len(r[2]))
    lps: list[dict] = [{} for _ in tries]
    left = [len(paths) for paths in leaves]
    out: list[Completion] = [None] * len(tries)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    for batch in _batches(rows, batch_size):
        keep = 1 + max(len(path) for _, path, _ in batch)
        # the shared prefix runs once; each row keeps its path and the token before it as its own, since
        # those are the logits read
        shared = 0 if not share_prefix else min(shared_prefix_len([r[2] for r in batch]),
                                                *(len(r) - len(path) - 1 for _, path, r in batch))
        own = [r[2][shared:] for r in batch]
        width = len(own[0])
        ids = torch.tensor([[pad] * (width - len(o)) + o for o in own], device=model.device)
        own_mask = torch.tensor([[0] * (width - len(o)) + [1] * len(o) for o in own], device=model.device)
        mask = torch.cat([own_mask.new_ones(len(own), shared), own_mask], dim=1)
        # [shared prefix | left padding | own tokens]: positions count real tokens only, as unpadded
        positions = shared + (own_mask.cumsum(-1) - 1).clamp(min=0)
        cache = expanded_cache(model, prefix_kv(model, batch[0][2][:shared]), len(own)) if shared else None
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                       use_cache=bool(shared), logits_to_keep=keep).logits[:, -keep:].float()
        for (i, path, _), lp in zip(batch, torch.log_softmax(logits, dim=-1)):
            for k in range(len(path) + 1):  # node path[:k] is read at the k-th token of the path
                at = lp[keep - 1 - len(path) + k]
                lps[i][path[:k]] = {t: float(at[t]) for t in tries[i].wants[path[:k]]}
            left[i] -= 1
            if left[i] == 0:
                out[i] = _choice_completion(tries[i], lps[i], choices)
                if on_done:
                    on_done(i, out[i])
    return out


def _batches(rows: list, batch_size: int, max_tokens: int = 16384):
    """Consecutive rows (longest first) in batches of at most batch_size rows and max_tokens padded tokens."""
    start = 0
    while start < len(rows):
        width = len(rows[start][2])
        n = max(1, min(batch_size, max_tokens // max(width, 1)))
        yield rows[start:start + n]
        start += n


def _choice_completion(trie: ChoiceTrie, lps: dict, choices: list[str]) -> Completion:
    probs = {choices[k]: p for k, p in trie.distribution(lps).items()}
    if not probs:
        return Completion(None, error="no probability mass on any allowed choice", prompt_tokens=len(trie.base))
    return Completion(max(probs, key=probs.get), probs=probs, prompt_tokens=len(trie.base))
