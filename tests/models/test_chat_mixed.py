"""Mixed-adapter batches (models/chat/mixed.py) against each adapter scored alone on the tiny model: the same
greedy answers, base rows included, in fp32 and bf16, with a shared prefix, several buckets and rows
ending at different steps."""

import pytest

from iftkit.config.schema import ModelConfig
from iftkit.models.chat.local import TransformersChat
from iftkit.models.chat.mixed import MixedAdapters
from iftkit.models.chat.types import GenConfig
from iftkit.testing.tiny import DECODE_PROMPTS

PROMPTS = DECODE_PROMPTS
GEN = GenConfig(max_new_tokens=10)


def _free_first_steps(model, tok, prompts) -> dict:
    """token -> the steps at which it first comes in each greedy row of `model` (no stop token)."""
    import torch

    from iftkit.models.chat.local import chat_prompt_text

    firsts: dict = {}
    for p in prompts:
        ids = tok(chat_prompt_text(tok, p), add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            row = model.generate(ids, max_new_tokens=GEN.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.eos_token_id)[0, ids.shape[1]:].tolist()
        for t in set(row):
            firsts.setdefault(t, set()).add(row.index(t))
    return firsts


@pytest.fixture(scope="module")
def tiny_with_adapters(tmp_path_factory):
    """A varied tiny model whose turn also ends on a token that comes at different steps, and two LoRA
    adapters of it with different random weights."""
    import torch
    from peft import LoraConfig, get_peft_model

    from iftkit.testing.tiny import make_model, make_tokenizer

    root = tmp_path_factory.mktemp("mixed")
    tok = make_tokenizer()
    model = make_model(tok, init_std=0.3)
    firsts = _free_first_steps(model, tok, PROMPTS)
    stop = max(sorted(firsts), key=lambda t: len(firsts[t]))
    model.generation_config.pad_token_id = tok.eos_token_id
    model.generation_config.eos_token_id = [tok.eos_token_id, stop]
    model.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    adapters = []
    for seed in (1, 2):
        cfg = LoraConfig(r=4, lora_alpha=256,  # strong deltas: each adapter answers its own tokens
                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj"],
                         init_lora_weights=False)
        body = make_model(tok, init_std=0.3)  # seeds torch itself: the adapter's seed comes after
        torch.manual_seed(seed)
        peft = get_peft_model(body, cfg)
        peft.save_pretrained(root / f"adapter{seed}")
        adapters.append(str(root / f"adapter{seed}"))
    return str(root / "base"), adapters


def _alone(cfg, base, adapter, batch_size):
    chat = TransformersChat(cfg, base, adapter, batch_size=batch_size)
    return [(c.text, c.completion_tokens, c.truncated) for c in chat.complete_many(PROMPTS, GEN)]


@pytest.mark.parametrize("dtype,batch_size", [("float32", 16), ("float32", 3), ("bfloat16", 16)])
def test_mixed_answers_equal_each_adapter_alone_and_the_base_model(tiny_with_adapters, dtype, batch_size):
    base, adapters = tiny_with_adapters
    cfg = ModelConfig(id=base, dtype=dtype)
    mixed = MixedAdapters(cfg, base, [*adapters, None], batch_size=batch_size)
    got = [[(c.text, c.completion_tokens, c.truncated) for c in answers]
           for answers in mixed.complete_many(PROMPTS, GEN)]
    expected = [_alone(cfg, base, a, batch_size) for a in [*adapters, None]]
    assert got == expected
    assert mixed.loads == 1 and mixed.stats.shared_tokens > 0  # one model, prefixes shared per adapter
    assert len({tuple(answers) for answers in expected}) == 3  # the adapters and the base answer differently
    assert len({n for answers in expected for _, n, _ in answers}) >= 3  # rows end at different steps


def test_mixed_batches_need_an_adapter(tiny_with_adapters):
    from iftkit.core.errors import IftkitError

    base, _ = tiny_with_adapters
    with pytest.raises(IftkitError, match="no adapter given"):
        MixedAdapters(ModelConfig(id=base), base, [None])


@pytest.mark.integration
@pytest.mark.slow
def test_mixed_answers_equal_each_adapter_alone_on_smollm2_fp32(smollm2_dir, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = str(smollm2_dir)
    adapters = []
    for seed in (1, 2):
        body = AutoModelForCausalLM.from_pretrained(base)
        torch.manual_seed(seed)
        cfg = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
        get_peft_model(body, cfg).save_pretrained(tmp_path / f"adapter{seed}")
        adapters.append(str(tmp_path / f"adapter{seed}"))
    cfg = ModelConfig(id=base, dtype="float32")
    gen = GenConfig(max_new_tokens=12)
    mixed = MixedAdapters(cfg, base, [*adapters, None], batch_size=4).complete_many(PROMPTS, gen)
    for adapter, got in zip([*adapters, None], mixed):
        alone = TransformersChat(cfg, base, adapter, batch_size=4).complete_many(PROMPTS, gen)
        assert [(c.text, c.completion_tokens) for c in got] == [(c.text, c.completion_tokens) for c in alone]
    assert len({tuple(c.text for c in answers) for answers in mixed}) == 3  # three different models answered
