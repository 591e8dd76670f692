"""The transformers chat backend: a local causal LM (optionally + a LoRA adapter).

Prompts are rendered with the tokenizer's chat template exactly as in training
(add_generation_prompt=True; models/chat_format.py: BOS exactly once, the format of a base model
without a template). Answers come from local_decode.py (greedy batches over iftkit's own KV-cache
loop, seeded samples), verdict probabilities from local_choices.py (next-token distributions, see
choices.py). An adapter can run at a fraction of its strength (`adapter_scale`, see
models/adapter_scale.py): the scaling lasts only while the backend computes.
"""

import threading
from pathlib import Path
from typing import Optional

from iftkit.core.fingerprint import adapter_fingerprint, model_fingerprint
from iftkit.models.adapter_scale import AS_TRAINED, check_scale, scaled_adapter
from iftkit.models.chat.backend import ChatBackend, LocalModel, OnDone
from iftkit.models.chat.greedy import DecodeStats, fast_greedy_blockers
from iftkit.models.chat.local_choices import trie_choice_probs
from iftkit.models.chat.local_decode import GreedyOptions, TurnEnds, greedy_answers, sampled_answer
from iftkit.models.chat.local_likelihood import answer_nll as answers_nll
from iftkit.models.chat.registry import BackendInfo
from iftkit.models.chat.types import Completion, GenConfig
from iftkit.models.chat_format import chat_prompt_text, prepare_tokenizer, prompt_format
from iftkit.models.load import load_chat_tokenizer, load_model, ready_to_answer

__all__ = ["TransformersChat", "chat_prompt_text"]


class TransformersChat(ChatBackend):
    supports_probs = True
    supports_likelihood = True

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
        self._ends = None  # (the loaded model, its TurnEnds)
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
            model = model_fingerprint(self.path)
            if self.adapter_path:
                model += "+" + adapter_fingerprint(self.adapter_path)
            self._identity = {"backend": "transformers", "model": model}
            if self.model_cfg is not None:  # the same weights in another precision answer differently
                self._identity.update(dtype=self.model_cfg.dtype, quantization=self.model_cfg.quantization.mode)
            # the adapter's strength, and a template iftkit wrote or completed (chat_format.py; None as shipped)
            self._identity.update(adapter_scale=self.adapter_scale, prompt_format=prompt_format(self._tokenizer()))
        return self._identity

    def _tokenizer(self):
        if self._tok is None:
            self._tok = load_chat_tokenizer(self.path, self.adapter_path, self.model_cfg)
        return self._tok

    def load(self):
        if self._model is None:
            self._tokenizer()
            model = load_model(self.model_cfg, path=self.path)
            if self.adapter_path:
                from peft import PeftModel  # pulls torch: only when an adapter is loaded

                model = PeftModel.from_pretrained(model, self.adapter_path)
            self._model = ready_to_answer(model)
            self.loads += 1
        return self._model, self._tok

    def unload(self) -> None:
        self._model = self._tok = self._ends = None

    def _turn_ends(self) -> TurnEnds:
        if self._ends is None or self._ends[0] is not self._model:  # once per loaded model, not per answer
            self._ends = (self._model, TurnEnds.of(self._model, self._tok))
        return self._ends[1]

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
            ends = self._turn_ends()
            if gen.temperature > 0:
                for i, text in enumerate(texts):
                    finish(i, sampled_answer(model, tok, text, gen, seeds[i] if seeds else None, ends))
            else:
                opts = GreedyOptions(self.batch_size, self.fast_greedy, self.stats, self.greedy_levers)
                greedy_answers(model, tok, ends, texts, gen, finish, opts)
        return out

    def choice_probs(self, messages_list: list, choices: list[str], prefix: str = "",
                     on_done: OnDone = None) -> list[Completion]:
        import torch  # the model is loaded, so torch already is

        model, tok = self.load()
        texts = [chat_prompt_text(tok, m) + prefix for m in messages_list]
        share = self.fast_greedy and not fast_greedy_blockers(model)
        with self._lock, scaled_adapter(model, self.adapter_scale), torch.no_grad():
            return trie_choice_probs(model, tok, texts, choices, self.batch_size, share, on_done)

    def answer_nll(self, messages_list: list, answers: list, max_tokens: int,
                   on_done: OnDone = None) -> list[Completion]:
        import torch

        model, tok = self.load()
        with self._lock, scaled_adapter(model, self.adapter_scale), torch.no_grad():
            return answers_nll(model, tok, messages_list, answers, max_tokens, self.batch_size, on_done)


def _build(m: LocalModel) -> TransformersChat:
    return TransformersChat(m.model_cfg, m.path, m.adapter_path, m.batch_size, adapter_scale=m.adapter_scale)


def _lm_eval_model(m: LocalModel):
    """The harness's own HF model over the same weights: `pretrained` = the base model, `peft` = the
    adapter, as `lm_eval --model hf --model_args pretrained=...,peft=...` takes them."""
    import torch
    from lm_eval.api.registry import get_model

    model_args = {
        "pretrained": m.path,
        "dtype": m.model_cfg.dtype,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "trust_remote_code": m.model_cfg.trust_remote_code,
        "batch_size": m.batch_size,
    }
    if m.adapter_path:
        model_args["peft"] = m.adapter_path
        if (Path(m.adapter_path) / "tokenizer_config.json").is_file():
            model_args["tokenizer"] = m.adapter_path  # its chat template is the format it learnt
    lm = get_model("hf").create_from_arg_obj(model_args)
    # the chat format iftkit trains and generates in (a base model's, BOS exactly once): the harness then
    # sees BOS at the start of every templated prompt and adds no second one
    prepare_tokenizer(lm.tokenizer)
    return lm


BACKENDS = (BackendInfo("transformers", _build, "a local model through transformers (+ a LoRA adapter through PEFT)",
                        runs="local", scales_adapters=True, lm_eval=_lm_eval_model),)
