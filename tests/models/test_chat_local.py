"""The transformers chat backend on the tiny model: batched generation, seeded sampling, and
verdict probabilities checked against plain forward passes."""

import math

import pytest

from iftkit.config.schema import ModelConfig
from iftkit.models.chat.local import TransformersChat, chat_prompt_text
from iftkit.models.chat.types import GenConfig

PROMPTS = [[{"role": "user", "content": q}] for q in [
    "Classify the sentiment of this review: positive or negative.",
    "What is 12 plus 7?",
    "Extract every email address and date from the text below. The quick brown fox jumps over the lazy dog.",
    "Sort the list.",
    "Count the words.",
]]


@pytest.fixture(scope="module")
def chat(tiny_model_dir):
    return TransformersChat(ModelConfig(id=str(tiny_model_dir)), str(tiny_model_dir), batch_size=3)


def test_batched_greedy_matches_one_at_a_time(chat):
    model, tok = chat.load()
    assert chat_prompt_text(tok, PROMPTS[0]).endswith("<|im_start|>assistant\n")
    gen = GenConfig(max_new_tokens=8)
    batched = chat.complete_many(PROMPTS, gen)
    single = [chat.complete_many([p], gen)[0] for p in PROMPTS]
    assert [c.text for c in batched] == [c.text for c in single]
    assert all(0 < c.completion_tokens <= 8 and c.prompt_tokens > 5 for c in batched)
    assert tok.padding_side in ("left", "right")  # restored, whatever it was


def test_sampling_is_fixed_by_each_requests_seed(chat):
    gen = GenConfig(max_new_tokens=10, temperature=1.0, top_p=0.95)
    a = chat.complete_many(PROMPTS[:2], gen, seeds=[1, 2])
    b = chat.complete_many(PROMPTS[:2][::-1], gen, seeds=[2, 1])
    assert [c.text for c in a] == [c.text for c in b[::-1]]  # order of requests does not matter


def _direct_logprob(model, tok, text: str, continuation_ids: list) -> float:
    """log P(continuation | text) from one plain forward pass over the whole sequence (no cache)."""
    import torch

    ids = tok(text, add_special_tokens=False)["input_ids"]
    full = ids + continuation_ids
    with torch.no_grad():
        lp = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0].float(), -1)
    return sum(float(lp[len(ids) - 1 + k, t]) for k, t in enumerate(continuation_ids))


def test_single_token_choices_are_the_next_token_distribution(chat):
    import torch

    model, tok = chat.load()
    choices = [" the", " fox"]  # one token each in the tiny vocabulary
    ids = [tok(c, add_special_tokens=False)["input_ids"] for c in choices]
    assert all(len(i) == 1 for i in ids)
    [got] = chat.choice_probs(PROMPTS[:1], choices, prefix="Answer:")
    text = chat_prompt_text(tok, PROMPTS[0]) + "Answer:"
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])).logits[0, -1]
    p = torch.softmax(logits.float(), -1)[[i[0] for i in ids]]
    expected = p.tolist()  # not normalised: their sum is the mass on the allowed choices
    assert [got.probs[c] for c in choices] == pytest.approx(expected, rel=1e-4)
    assert sum(got.probs.values()) < 1.0
    assert got.text == choices[expected.index(max(expected))]


@pytest.mark.parametrize("prefix,choices", [
    ("Score:", [f" {k}" for k in range(11)]),  # " 1" is a prefix of " 10" in this vocabulary
    ("Winner:", [" A", " B", " tie"]),  # " A" = "Ġ" + "A", " tie" = "Ġt" + "i" + "e": a deeper trie
])
def test_multi_token_choices_match_plain_forward_passes(chat, prefix, choices):
    model, tok = chat.load()
    got = chat.choice_probs(PROMPTS[:2], choices, prefix=prefix)
    for messages, c in zip(PROMPTS[:2], got):
        text = chat_prompt_text(tok, messages) + prefix
        seqs = [tok(text + ch, add_special_tokens=False)["input_ids"] for ch in choices]
        n = len(tok(text, add_special_tokens=False)["input_ids"])
        # P(exactly this choice) = P(its tokens) - P(its tokens then a token that continues a longer choice)
        mass = []
        for s in seqs:
            p = math.exp(_direct_logprob(model, tok, text, s[n:]))
            longer = {o[len(s)] for o in seqs if len(o) > len(s) and o[:len(s)] == s}
            p -= sum(math.exp(_direct_logprob(model, tok, text, s[n:] + [t])) for t in longer)
            mass.append(p)
        assert [c.probs[ch] for ch in choices] == pytest.approx(mass, rel=1e-3, abs=1e-7)


def test_trie_leaves_cover_every_inner_node():
    from iftkit.models.chat.choices import ChoiceTrie

    trie = ChoiceTrie.build([[7, 1], [7, 1, 0], [7, 2], [7, 3, 4, 5]])
    assert trie.wants == {(): {1, 2, 3}, (1,): {0}, (3,): {4}, (3, 4): {5}}
    assert sorted(trie.leaves()) == [(1,), (3, 4)]


def test_choice_rows_are_one_per_trie_leaf_not_per_node(chat):
    from iftkit.models.chat.choices import ChoiceTrie

    model, tok = chat.load()
    choices = [f" {k}" for k in range(11)]
    text = chat_prompt_text(tok, PROMPTS[0]) + "Score:"
    trie = ChoiceTrie.build([tok(text + c, add_special_tokens=False)["input_ids"] for c in choices])
    rows = []
    forward = model.forward

    def counting(*args, **kwargs):
        if "attention_mask" in kwargs:  # not the shared prefix's own forward
            rows.append(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    model.forward = counting
    try:
        chat.choice_probs(PROMPTS[:1], choices, prefix="Score:")
    finally:
        del model.forward
    # this vocabulary: " 0" = "Ġ" "0", " 1" = "Ġ1", " 10" = "Ġ1" "0": nodes (), (Ġ), (Ġ1); leaves (Ġ), (Ġ1)
    assert sum(rows) == len(trie.leaves()) < len(trie.wants)
