"""The transformers chat backend: a local causal LM (optionally + a LoRA adapter).

Prompts are rendered with the tokenizer's chat template exactly as in training
(add_generation_prompt=True; models/chat_format.py: BOS exactly once, the format of a base model
without a template). Greedy requests are decoded in batches sorted by token length by
iftkit's own loop over the KV cache (greedy.py: finished rows leave the batch, a shared prompt
prefix runs once), or by model.generate on left-padded batches where a generation-config logits
processor or a non-full-attention cache needs it. Sampled requests (the teacher) run one at a
time so each request's seed alone fixes its answer. `choice_probs` reads verdicts from
next-token distributions (see choices.py).
An adapter can run at a fraction of its strength (`adapter_scale`, see models/adapter_scale.py).
"""

import threading
from typing import Callable, Optional

from iftkit.models.adapter_scale import AS_TRAINED, check_scale, scaled_adapter
from iftkit.models.chat.choices import ChoiceTrie
from iftkit.models.chat.greedy import (
    DecodeStats,
    expanded_cache,
    fast_greedy_blockers,
    greedy_decode,
    prefix_kv,
    shared_prefix_len,
)
from iftkit.models.chat.types import Completion, GenConfig
from iftkit.models.chat_format import chat_prompt_text, prompt_format, stop_token_ids

__all__ = ["TransformersChat", "chat_prompt_text"]

OnDone = Optional[Callable[[int, Completion], None]]


class TransformersChat:
    def __init__(self, model_cfg=None, path: Optional[str] = None, adapter_path: Optional[str] = None,
                 batch_size: int = 16, fast_greedy: bool = True, adapter_scale: float = AS_TRAINED):
        self.model_cfg, self.path, self.adapter_path, self.batch_size = model_cfg, path, adapter_path, batch_size
        # greedy requests through iftkit's decode loop (greedy.py); False: through model.generate
        self.fast_greedy, self.greedy_levers = fast_greedy, {}
        self.stats = DecodeStats()
        self.adapter_scale = check_scale(adapter_scale)
        if self.adapter_scale != AS_TRAINED and not adapter_path:
            raise ValueError("adapter_scale needs an adapter to scale")
        # what people call it (the recipe's model id); the identity (cache key) is the weights' fingerprint
        self.name = getattr(model_cfg, "id", None) or path
        self.loads = 0
        self._model = self._tok = None
        self._stops = None
        self._identity = None
        self._lock = threading.Lock()  # one forward at a time on a local model

    @classmethod
    def from_loaded(cls, model, tokenizer, batch_size: int = 16, name: str = "in-memory") -> "TransformersChat":
        """A backend over an already loaded model (tests, a model just trained in this process)."""
        chat = cls(batch_size=batch_size)
        chat._model, chat._tok = model.eval(), tokenizer
        chat._identity = {"backend": "transformers", "model": name}
        chat.name = name
        return chat

    def identity(self) -> dict:
        if self._identity is None:
            from iftkit.core.fingerprint import adapter_fingerprint, model_fingerprint

            model = model_fingerprint(self.path)
            if self.adapter_path:
                model += "+" + adapter_fingerprint(self.adapter_path)
            self._identity = {"backend": "transformers", "model": model}
            if self.model_cfg is not None:  # the same weights in another precision answer differently
                self._identity.update(dtype=self.model_cfg.dtype, quantization=self.model_cfg.quantization.mode)
            if self.adapter_scale != AS_TRAINED:  # absent at 1, so outputs cached before scales existed still serve
                self._identity["adapter_scale"] = self.adapter_scale
            # a template iftkit wrote or completed (chat_format.py): absent for a template used as shipped,
            # so outputs cached before chat_format existed still serve
            fmt = prompt_format(self._tokenizer())
            if fmt:
                self._identity["prompt_format"] = fmt
        return self._identity

    def _tokenizer(self):
        if self._tok is None:
            from iftkit.models.load import load_chat_tokenizer

            self._tok = load_chat_tokenizer(self.path, self.adapter_path, self.model_cfg)
        return self._tok

    def load(self):
        if self._model is None:
            from iftkit.models.load import load_model

            self._tokenizer()
            model = load_model(self.model_cfg, path=self.path)
            if self.adapter_path:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, self.adapter_path)
            self._model = model.eval()
            self.loads += 1
        return self._model, self._tok

    def unload(self) -> None:
        self._model = self._tok = self._stops = None

    def complete_many(self, messages_list: list, gen: GenConfig, seeds: Optional[list] = None,
                      on_done: OnDone = None) -> list[Completion]:
        model, tok = self.load()
        texts = [chat_prompt_text(tok, m) for m in messages_list]
        out: list[Completion] = [None] * len(texts)

        def finish(i, c):
            out[i] = c
            if on_done:
                on_done(i, c)

        with self._lock, scaled_adapter(model, self.adapter_scale):
            if gen.temperature > 0:
                for i, text in enumerate(texts):
                    finish(i, self._sample(text, gen, seeds[i] if seeds else None))
            else:
                self._greedy(texts, gen, finish)
        return out

    def _greedy(self, texts, gen: GenConfig, finish) -> None:
        model, tok = self._model, self._tok
        prompts = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(prompts[i]))
        batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        if not self.fast_greedy or fast_greedy_blockers(model):
            return self._generate_greedy(texts, [len(p) for p in prompts], batches, gen, finish)
        eos, pad = self._eos_pad()
        stops = set(eos)
        for idx in batches:
            rows = greedy_decode(model, [prompts[i] for i in idx], gen.max_new_tokens, stops, pad, self.stats,
                                 **self.greedy_levers)
            for i, row in zip(idx, rows):
                finish(i, self._completion(row, len(prompts[i]), gen.max_new_tokens))

    def _generate_greedy(self, texts, lengths, batches, gen: GenConfig, finish) -> None:
        """The same batches through transformers' model.generate (models the fast path does not cover)."""
        import torch

        model, tok = self._model, self._tok
        eos, pad = self._eos_pad()
        saved_side = tok.padding_side
        tok.padding_side = "left"
        try:
            for idx in batches:
                enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
                enc = {k: v.to(model.device) for k, v in enc.items()}
                with torch.no_grad():
                    ids = model.generate(**enc, max_new_tokens=gen.max_new_tokens, do_sample=False, temperature=None,
                                         top_p=None, top_k=None, pad_token_id=pad, eos_token_id=eos)
                for i, row in zip(idx, ids[:, enc["input_ids"].shape[1]:]):
                    finish(i, self._completion(row.tolist(), lengths[i], gen.max_new_tokens))
        finally:
            tok.padding_side = saved_side

    def _sample(self, text: str, gen: GenConfig, seed: Optional[int]) -> Completion:
        import torch

        model, tok = self._model, self._tok
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        enc = {k: v.to(model.device) for k, v in enc.items()}
        if seed is not None:
            torch.manual_seed(seed % (2 ** 31))
        eos, pad = self._eos_pad()
        with torch.no_grad():
            ids = model.generate(**enc, max_new_tokens=gen.max_new_tokens, do_sample=True, temperature=gen.temperature,
                                 top_p=gen.top_p, pad_token_id=pad, eos_token_id=eos)
        return self._completion(ids[0, enc["input_ids"].shape[1]:].tolist(), enc["input_ids"].shape[1],
                                gen.max_new_tokens)

    def _eos_pad(self):
        """(every id that ends the model's turn, the padding id)."""
        tok = self._tok
        if self._stops is None or self._stops[0] is not self._model:  # once per loaded model, not per answer
            self._stops = (self._model, stop_token_ids(tok, self._model.generation_config))
        return self._stops[1], tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def _completion(self, ids: list[int], prompt_tokens: int, limit: int) -> Completion:
        eos, pad = self._eos_pad()
        stops = set(eos) | {pad}
        stop = next((k + 1 for k, t in enumerate(ids) if t in stops), None)
        text = self._tok.decode(ids, skip_special_tokens=True).strip()
        return Completion(text, prompt_tokens=prompt_tokens, completion_tokens=stop or len(ids),
                          truncated=stop is None and len(ids) >= limit)

    def choice_probs(self, messages_list: list, choices: list[str], prefix: str = "",
                     on_done: OnDone = None) -> list[Completion]:
        """P(choice | prompt + assistant prefix) for each allowed choice, normalised over the choices.

        One row per leaf of each prompt's trie (prompt + leaf path): its last positions' logits are the
        next-token distributions at every trie node on the way. Rows are sorted by length and run in
        left-padded batches."""
        import torch

        model, tok = self.load()
        tries = []
        for messages in messages_list:
            text = chat_prompt_text(tok, messages) + prefix
            tries.append(ChoiceTrie.build([tok(text + c, add_special_tokens=False)["input_ids"] for c in choices]))
        leaves = [t.leaves() for t in tries]
        rows = [(i, path, t.base + list(path)) for i, t in enumerate(tries) for path in leaves[i]]
        rows.sort(key=lambda r: -len(r[2]))
        lps: list[dict] = [{} for _ in tries]
        left = [len(paths) for paths in leaves]
        out: list[Completion] = [None] * len(tries)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        share = self.fast_greedy and not fast_greedy_blockers(model)
        with self._lock, scaled_adapter(model, self.adapter_scale), torch.no_grad():
            for batch in _batches(rows, self.batch_size):
                keep = 1 + max(len(path) for _, path, _ in batch)
                # the judge's instructions open every prompt: run once, shared through the KV cache; each
                # row keeps its path and the token before it as its own, since those are the logits read
                shared = 0 if not share else min(shared_prefix_len([r[2] for r in batch]),
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
