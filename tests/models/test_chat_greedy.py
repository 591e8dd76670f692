"""iftkit's greedy decode loop against transformers' model.generate on the tiny model: the same
tokens with every lever on or off, rows ending at different steps, batch sizes 1 and more."""

import itertools

import pytest

from iftkit.config.schema import ModelConfig
from iftkit.models.chat.greedy import DecodeSettings, DecodeStats, greedy_decode, length_buckets, shared_prefix_len
from iftkit.models.chat.local import TransformersChat, chat_prompt_text
from iftkit.models.chat.types import GenConfig
from iftkit.testing.tiny import DECODE_PROMPTS

PROMPTS = DECODE_PROMPTS
MAX_NEW = 12


@pytest.fixture(scope="module")
def varied_model_dir(tmp_path_factory):
    """The tiny model with larger random weights: its greedy tokens vary from row to row and step to step."""
    from iftkit.testing.tiny import make_model, make_tokenizer

    path = tmp_path_factory.mktemp("varied-tiny")
    tok = make_tokenizer()
    model = make_model(tok, init_std=0.3)
    model.generation_config.pad_token_id = model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny(varied_model_dir):
    chat = TransformersChat(ModelConfig(id=str(varied_model_dir)), str(varied_model_dir))
    model, tok = chat.load()
    ids = [tok(chat_prompt_text(tok, p), add_special_tokens=False)["input_ids"] for p in PROMPTS]
    return model, tok, ids


def _generate_one_at_a_time(model, ids, stops):
    """The reference: model.generate on each prompt alone (no padding), cut after the first stop token."""
    import torch

    out = []
    for p in ids:
        with torch.no_grad():
            row = model.generate(torch.tensor([p]), attention_mask=torch.ones(1, len(p), dtype=torch.long),
                                 max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=sorted(stops),
                                 pad_token_id=model.generation_config.pad_token_id)[0, len(p):].tolist()
        out.append(next((row[:k + 1] for k, t in enumerate(row) if t in stops), row))
    return out


@pytest.fixture(scope="module")
def stops(tiny):
    """Stop tokens that end the tiny model's rows at different steps (its EOS alone ends none)."""
    model, _, ids = tiny
    free = _generate_one_at_a_time(model, ids, {model.generation_config.eos_token_id})
    firsts = {}  # token -> the step at which it first comes, in each row where it comes
    for row in free:
        for t in set(row):
            firsts.setdefault(t, []).append(row.index(t))
    # the token whose first appearance falls on the most different steps
    token = max(sorted(firsts), key=lambda t: len(set(firsts[t])))
    return {model.generation_config.eos_token_id, token}


def test_prompts_share_a_prefix_and_differ_in_length(tiny):
    _, _, ids = tiny
    assert shared_prefix_len(ids[:-1]) > shared_prefix_len(ids) > 0  # the system turn, then "<|im_start|>"
    assert len({len(p) for p in ids}) > 3  # left padding and several buckets are exercised


@pytest.mark.parametrize("share_prefix,bucket_prefill", list(itertools.product([True, False], repeat=2)))
def test_batched_greedy_matches_generate_with_every_lever(tiny, stops, share_prefix, bucket_prefill):
    model, tok, ids = tiny
    expected = _generate_one_at_a_time(model, ids, stops)
    ends = {len(r) for r in expected}
    assert len(ends) >= 3 and min(ends) < MAX_NEW  # rows end at different steps, some before the cap
    stats = DecodeStats()
    settings = DecodeSettings(MAX_NEW, frozenset(stops), tok.pad_token_id, share_prefix, bucket_prefill)
    [got] = greedy_decode(model, ids, settings, stats)
    assert got == expected
    assert stats.decode_rows == sum(len(r) for r in expected) - len(ids)  # finished rows left the batch
    assert (stats.shared_tokens > 0) == share_prefix


def test_one_prompt_alone_matches_generate(tiny, stops):
    model, tok, ids = tiny
    for p, expected in zip(ids, _generate_one_at_a_time(model, ids, stops)):
        assert greedy_decode(model, [p], DecodeSettings(MAX_NEW, frozenset(stops), tok.pad_token_id)) == [[expected]]


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_chat_fast_path_matches_its_model_generate_path(varied_model_dir, stops, batch_size):
    chat = TransformersChat(ModelConfig(id=str(varied_model_dir)), str(varied_model_dir), batch_size=batch_size)
    model, _ = chat.load()
    model.generation_config.eos_token_id = sorted(stops)
    gen = GenConfig(max_new_tokens=MAX_NEW)
    fast = chat.complete_many(PROMPTS, gen)
    assert chat.stats.decode_steps > 0  # the fast path ran
    chat.fast_greedy = False
    plain = chat.complete_many(PROMPTS, gen)
    assert [(c.text, c.completion_tokens, c.prompt_tokens) for c in fast] == [
        (c.text, c.completion_tokens, c.prompt_tokens) for c in plain]
    assert len({c.completion_tokens for c in fast}) >= 3


def test_a_logits_processor_in_the_generation_config_falls_back_to_generate(varied_model_dir):
    chat = TransformersChat(ModelConfig(id=str(varied_model_dir)), str(varied_model_dir), batch_size=4)
    model, _ = chat.load()
    gen = GenConfig(max_new_tokens=MAX_NEW)
    before = chat.complete_many(PROMPTS[:4], gen)
    steps = chat.stats.decode_steps
    assert steps > 0  # the fast path ran
    model.generation_config.repetition_penalty = 5.0
    penalised = chat.complete_many(PROMPTS[:4], gen)
    assert chat.stats.decode_steps == steps  # model.generate ran instead
    assert [c.text for c in penalised] != [c.text for c in before]  # and applied the penalty


@pytest.mark.parametrize("lengths,cost,starts", [
    ([30, 29, 28, 5, 5, 4], 8, [3]),  # two runs of similar lengths: one bucket each
    ([30, 29, 28, 5, 5, 4], 1000, []),  # a forward costs more than any padding: one bucket
    ([9, 7, 5], 0, [1, 2]),  # forwards are free: no padding at all
    ([4], 24, []),
])
def test_length_buckets_minimise_padding_plus_forwards(lengths, cost, starts):
    assert length_buckets(lengths, cost) == starts


def test_shared_prefix_leaves_every_prompt_a_token_of_its_own():
    assert shared_prefix_len([[1, 2, 3], [1, 2, 3]]) == 2
    assert shared_prefix_len([[1, 2, 3, 4], [1, 2, 5]]) == 2
    assert shared_prefix_len([[1, 2], [3, 2]]) == 0
    assert shared_prefix_len([[1, 2, 3]]) == 0
