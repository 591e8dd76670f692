"""The vLLM chat backend (GPU machines): same chat template and decoding as the transformers
one, LoRA via LoRARequest, verdict probabilities from vLLM's top-k logprobs. Used when
eval.backend = vllm and vllm is installed.

Prompts go to vLLM as token ids rendered by iftkit's own tokenizer (models/chat_format.py: the
adapter's saved template, BOS exactly once), the ids the transformers backend and training use,
and generation stops on every token that ends the model's turn."""

import importlib.util
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import adapter_fingerprint, model_fingerprint
from iftkit.models.chat.backend import ChatBackend, LocalModel, OnDone
from iftkit.models.chat.choices import choice_distribution
from iftkit.models.chat.registry import BackendInfo
from iftkit.models.chat.types import Completion, GenConfig
from iftkit.models.chat_format import prompt_ids, stop_token_ids
from iftkit.models.load import load_chat_tokenizer

TOP_K = 20  # a verdict token outside the top-k counts as probability 0


class VllmChat(ChatBackend):
    supports_probs = True

    def __init__(self, model_cfg, path: str, adapter_path: Optional[str] = None, label: str = "model"):
        if importlib.util.find_spec("vllm") is None:
            raise IftkitError(
                "eval.backend = vllm but vllm is not installed (pip install vllm, GPU only); "
                "use eval.backend=transformers"
            )
        self.model_cfg, self.path, self.adapter_path, self.label = model_cfg, path, adapter_path, label
        self.name = getattr(model_cfg, "id", None) or path
        self.loads = 0
        self._llm = self._tok = None

    def identity(self) -> dict:
        # vLLM's kernels round differently from transformers': its answers get their own cache entries
        model = model_fingerprint(self.path) + (
            "+" + adapter_fingerprint(self.adapter_path) if self.adapter_path else ""
        )
        return {"backend": "vllm", "model": model, "dtype": self.model_cfg.dtype}

    def load(self):
        if self._llm is None:
            from vllm import LLM

            dtype = self.model_cfg.dtype if self.model_cfg.dtype != "auto" else "auto"
            self._llm = LLM(model=self.path, enable_lora=bool(self.adapter_path), dtype=dtype)
            self.loads += 1
        return self._llm

    def unload(self) -> None:
        self._llm = self._tok = None

    def tokenizer(self):
        """iftkit's tokenizer for this model: the adapter's when it saved one (its template is the format it learnt)."""
        if self._tok is None:
            self._tok = load_chat_tokenizer(self.path, self.adapter_path, self.model_cfg)
        return self._tok

    def _lora(self):
        if not self.adapter_path:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest(self.label, 1, self.adapter_path)

    def complete_many(
        self, messages_list: list, gen: GenConfig, seeds: Optional[list] = None, on_done: OnDone = None
    ) -> list[Completion]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        llm = self.load()
        tok = self.tokenizer()
        stops = stop_token_ids(tok)  # vLLM adds the generation config's own EOS ids
        params = [
            SamplingParams(
                temperature=gen.temperature,
                top_p=gen.top_p,
                max_tokens=gen.max_new_tokens,
                seed=seeds[i] if seeds else None,
                stop_token_ids=stops,
            )
            for i in range(len(messages_list))
        ]
        prompts = [TokensPrompt(prompt_token_ids=prompt_ids(tok, m)) for m in messages_list]
        outs = llm.generate(prompts, params, lora_request=self._lora(), use_tqdm=False)
        got = []
        for i, o in enumerate(outs):
            c = Completion(
                o.outputs[0].text.strip(),
                prompt_tokens=len(o.prompt_token_ids or []),
                completion_tokens=len(o.outputs[0].token_ids),
                truncated=o.outputs[0].finish_reason == "length",
            )
            got.append(c)
            if on_done:
                on_done(i, c)
        return got

    def choice_probs(self, messages_list: list, choices: list[str], prefix: str = "",
                     on_done: OnDone = None) -> list[Completion]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        llm = self.load()
        tok = self.tokenizer()
        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=TOP_K)

        def next_logprobs(base, wants):
            paths = list(wants)
            outs = llm.generate(
                [TokensPrompt(prompt_token_ids=list(base) + list(p)) for p in paths],
                params,
                lora_request=self._lora(),
                use_tqdm=False,
            )
            res = {}
            for p, o in zip(paths, outs):
                top = o.outputs[0].logprobs[0]  # token id -> Logprob
                res[p] = {t: top[t].logprob for t in wants[p] if t in top}
            return res

        got = []
        for i, messages in enumerate(messages_list):
            ids = [prompt_ids(tok, messages, prefix + c) for c in choices]
            dist, n_prompt = choice_distribution(ids, next_logprobs)
            probs = {choices[k]: p for k, p in dist.items()}
            c = (
                Completion(max(probs, key=probs.get), probs=probs, prompt_tokens=n_prompt)
                if probs
                else Completion(None, error=f"no allowed choice among the top {TOP_K} tokens", prompt_tokens=n_prompt)
            )
            got.append(c)
            if on_done:
                on_done(i, c)
        return got


def _build(m: LocalModel) -> VllmChat:
    return VllmChat(m.model_cfg, m.path, m.adapter_path, m.label)


# vLLM's LoRA has no strength knob: a scaled adapter needs the transformers backend
BACKENDS = (BackendInfo("vllm", _build, "a local model through vLLM (GPU), LoRA through LoRARequest", runs="local"),)
