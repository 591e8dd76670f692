"""The vLLM backend hands vLLM token ids, not text: the ids training and the transformers backend use
(BOS exactly once, the adapter's saved template), and the model's end-of-turn tokens as stops.

vLLM needs a GPU and is not installed here, so a stand-in `vllm` module records what the backend
asks of it; the ids themselves come from iftkit's real tokenizer code."""

import importlib.machinery
import sys
import types
from dataclasses import dataclass, field

import pytest

from iftkit.config.schema import ModelConfig
from iftkit.models.chat.types import GenConfig
from iftkit.models.chat_format import prompt_ids, stop_token_ids
from iftkit.testing.tokenizer_styles import save_style_model

PROMPT = [{"role": "user", "content": "What is 12 plus 7?"}]


@dataclass
class _Out:
    text: str = "19"
    token_ids: list = field(default_factory=lambda: [5, 6])
    logprobs: list = None
    finish_reason: str = "stop"


class _LLM:
    def __init__(self, model, **kwargs):
        self.model, self.calls = model, []

    def generate(self, prompts, params, lora_request=None, use_tqdm=False):
        self.calls.append((prompts, params))
        return [types.SimpleNamespace(prompt_token_ids=p["prompt_token_ids"], outputs=[_Out()]) for p in prompts]


@pytest.fixture
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)  # find_spec("vllm") answers from sys.modules
    vllm.LLM = _LLM
    vllm.SamplingParams = lambda **kw: kw
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = lambda prompt_token_ids: {"prompt_token_ids": prompt_token_ids}
    for name, mod in {"vllm": vllm, "vllm.inputs": inputs}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return vllm


@pytest.mark.parametrize("style", ["gemma_base", "llama3"])
def test_vllm_gets_the_prompt_ids_and_end_tokens_iftkit_trains_with(fake_vllm, style, tmp_path):
    from iftkit.models.chat.vllm import VllmChat
    from iftkit.models.load import load_tokenizer

    model_dir = save_style_model(tmp_path / style, style)
    chat = VllmChat(ModelConfig(id=str(model_dir)), str(model_dir))
    [got] = chat.complete_many([PROMPT], GenConfig(max_new_tokens=4))
    tok = load_tokenizer(str(model_dir))
    [(prompts, params)] = chat._llm.calls
    assert prompts[0]["prompt_token_ids"] == prompt_ids(tok, PROMPT)
    assert prompts[0]["prompt_token_ids"].count(tok.bos_token_id) == 1
    assert set(stop_token_ids(tok)) <= set(params[0]["stop_token_ids"])
    assert got.text == "19" and got.prompt_tokens == len(prompt_ids(tok, PROMPT))
