"""Answer NLL (models/chat/local_likelihood.py) against a plain transformers loop: base model and LoRA
adapter, any batch size and padding; a model trained on the answers gives them a lower NLL."""

import pytest
import torch

from iftkit.models.chat.local import TransformersChat

PROMPTS = [
    [{"role": "user", "content": "What is 12 plus 7?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Sort the list, count the words and rewrite the sentence in upper case."}],
    [{"role": "user", "content": "hi"}],
    [{"role": "user", "content": "Classify the sentiment of this review: the fox is lazy."}],
]
ANSWERS = [
    "The answer is 19.",
    "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog again.",
    "positive",
    "negative, because the dog is lazy and the fox jumps.",
]


def plain_nll(model, tok, messages, answer, max_tokens):
    """The textbook loop: one unpadded forward, log_softmax, gather the answer's tokens, mean."""
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tok.apply_chat_template(messages + [{"role": "assistant", "content": answer}], tokenize=False)
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    a = tok(full[len(prompt):], add_special_tokens=False)["input_ids"][:max_tokens]
    with torch.no_grad():
        logits = model(torch.tensor([p + a])).logits[0].float()
    lp = torch.log_softmax(logits[len(p) - 1: len(p) + len(a) - 1], dim=-1)
    return float(-lp.gather(-1, torch.tensor(a)[:, None]).mean()), len(a)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)


def _lora(model, seed):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    return get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False)).eval()


@pytest.mark.parametrize("max_tokens", [6, 64])
def test_answer_nll_equals_a_plain_loop_for_the_base_model(tiny, max_tokens):
    model, tok = tiny
    got = TransformersChat.from_loaded(model, tok, batch_size=4).answer_nll(PROMPTS, ANSWERS, max_tokens)
    for c, m, a in zip(got, PROMPTS, ANSWERS):
        want, n = plain_nll(model, tok, m, a, max_tokens)
        assert c.likelihood["nll"] == pytest.approx(want, abs=1e-5)
        assert c.likelihood["tokens"] == n == c.completion_tokens
        assert c.truncated == (c.likelihood["answer_tokens"] > max_tokens)
    assert any(c.truncated for c in got) == (max_tokens == 6)


def test_answer_nll_equals_a_plain_loop_under_a_lora_adapter_and_differs_from_the_base(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    peft = _lora(AutoModelForCausalLM.from_pretrained(tiny_model_dir), seed=3)
    got = TransformersChat.from_loaded(peft, tok, batch_size=3).answer_nll(PROMPTS, ANSWERS, 32)
    with peft.disable_adapter():
        base = [plain_nll(peft, tok, m, a, 32)[0] for m, a in zip(PROMPTS, ANSWERS)]
    for c, m, a, b in zip(got, PROMPTS, ANSWERS, base):
        want = plain_nll(peft, tok, m, a, 32)[0]
        assert c.likelihood["nll"] == pytest.approx(want, abs=1e-5)
        assert abs(want - b) > 1e-4  # the adapter changes the measure: it is not the base model's


def test_adapter_scale_zero_gives_the_base_models_nll(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    peft = _lora(AutoModelForCausalLM.from_pretrained(tiny_model_dir), seed=4)
    chat = TransformersChat.from_loaded(peft, tok, batch_size=4)
    chat.adapter_scale = 0.0
    got = chat.answer_nll(PROMPTS, ANSWERS, 32)
    with peft.disable_adapter():
        base = [plain_nll(peft, tok, m, a, 32)[0] for m, a in zip(PROMPTS, ANSWERS)]
    assert [c.likelihood["nll"] for c in got] == pytest.approx(base, abs=1e-5)


def test_batch_size_and_padding_do_not_change_the_values(tiny):
    model, tok = tiny
    alone = [TransformersChat.from_loaded(model, tok, batch_size=1).answer_nll([m], [a], 40)[0].likelihood["nll"]
             for m, a in zip(PROMPTS, ANSWERS)]
    for bs in (2, 4):
        got = TransformersChat.from_loaded(model, tok, batch_size=bs).answer_nll(PROMPTS, ANSWERS, 40)
        assert [c.likelihood["nll"] for c in got] == pytest.approx(alone, abs=1e-5)
    # the same rows in another order (other batch neighbours, other padding) give the same values per row
    rev = TransformersChat.from_loaded(model, tok, batch_size=3).answer_nll(PROMPTS[::-1], ANSWERS[::-1], 40)
    assert [c.likelihood["nll"] for c in rev][::-1] == pytest.approx(alone, abs=1e-5)


def test_a_model_trained_on_the_answers_gives_them_a_lower_nll(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from iftkit.models.chat.local_likelihood import example_ids

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    before = [c.likelihood["nll"] for c in
              TransformersChat.from_loaded(model, tok).answer_nll(PROMPTS, ANSWERS, 64)]
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(10):  # a few full-batch steps of SFT on exactly these answers
        for m, a in zip(PROMPTS, ANSWERS):
            ids, kept, _ = example_ids(tok, m, a, 64)
            labels = [-100] * (len(ids) - kept) + ids[-kept:]
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
            loss.backward()
        opt.step()
        opt.zero_grad()
    after = [c.likelihood["nll"] for c in
             TransformersChat.from_loaded(model.eval(), tok).answer_nll(PROMPTS, ANSWERS, 64)]
    assert all(a < b - 1.0 for a, b in zip(after, before)), (before, after)
