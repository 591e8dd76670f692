"""Whole answers: the in-domain limit sized to the task's gold answers, and every answer the limit
cut counted, in the records, the result rows and eval's summary."""

import json
from pathlib import Path

from models.test_chat_local import PROMPTS

from iftkit.config.schema import EvalConfig, ModelConfig
from iftkit.core.store import JsonStore
from iftkit.data.rows import Row
from iftkit.evaluation.answer_length import (
    CAP,
    LABEL_FLOOR,
    in_domain_limit,
    limit_from_lengths,
    truncation_line,
)
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.generator import CachedGenerator, ModelUnderTest
from iftkit.models.chat.types import GenConfig


def test_the_rule_by_hand():
    # 100 answers of 1..100 tokens: the 99th percentile is 99 -> ceil(99 * 1.25) + 8 = 132
    lim = limit_from_lengths(list(range(1, 101)), floor=32)
    assert lim.tokens == 132 and "99th percentile of 100 gold answers = 99 tokens" in lim.why
    # one-word answers keep the general limit: a label task generates exactly as before
    assert limit_from_lengths([2] * 50, floor=32).tokens == 32
    assert limit_from_lengths([5000] * 10, floor=32).tokens == CAP


def _long_rows(n=40):
    ents = [{"text": f"Entity number {k} of the list", "type": "ORG"} for k in range(8)]
    return [Row([{"role": "user", "content": f"List the entities of text {i}."}], json.dumps(ents[: 2 + i % 7]),
                "ner", "user", json.dumps(ents[: 2 + i % 7])) for i in range(n)]


def test_long_gold_answers_get_a_limit_long_enough_for_the_longest(tiny_model_dir):
    from iftkit.models.load import load_tokenizer

    rows = _long_rows()
    tok = load_tokenizer(str(tiny_model_dir))
    longest = max(len(tok(r.completion, add_special_tokens=False)["input_ids"]) for r in rows)
    assert longest > 32  # today's fixed 32 would cut them
    lim = in_domain_limit(EvalConfig(max_new_tokens=32), rows, str(tiny_model_dir))
    assert lim.tokens > longest  # a model that writes the gold answer is not cut
    assert in_domain_limit(EvalConfig(max_new_tokens=32, in_domain_max_new_tokens=40), rows,
                           str(tiny_model_dir)).tokens == 40  # the recipe's own number wins


def test_an_answer_cut_by_the_limit_is_flagged_and_one_that_ended_is_not(tiny_model_dir, tmp_path):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    ev = EvalConfig(max_new_tokens=5, batch_size=4)
    gen = CachedGenerator(ModelUnderTest("base", str(tiny_model_dir)), ModelConfig(id=str(tiny_model_dir)), ev, store,
                          Counters(), progress=False)
    cut = gen.chat.complete_many(PROMPTS[:2], GenConfig(max_new_tokens=5))
    assert [c.truncated for c in cut] == [True, True] and all(c.completion_tokens == 5 for c in cut)
    # the same model told that its first answer token ends the answer: it stops, nothing is cut
    import torch

    from iftkit.models.chat.local import chat_prompt_text

    fresh = CachedGenerator(ModelUnderTest("base", str(tiny_model_dir)), ModelConfig(id=str(tiny_model_dir)), ev,
                            store, Counters(), progress=False).backend
    model, tok = fresh.load()
    ids = tok(chat_prompt_text(tok, PROMPTS[0]), add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        model.generation_config.eos_token_id = int(model(input_ids=ids).logits[0, -1].argmax())
    ended = fresh.complete_many(PROMPTS[:1], GenConfig(max_new_tokens=5))
    assert ended[0].truncated is False and ended[0].completion_tokens == 1
    # the flag is cached with the answer
    again = CachedGenerator(ModelUnderTest("base", str(tiny_model_dir)), ModelConfig(id=str(tiny_model_dir)), ev,
                            store, Counters(), progress=False).chat.complete_many(PROMPTS[:2], GenConfig(5))
    assert [c.truncated for c in again] == [True, True] and all(c.cached for c in again)


def test_truncation_line_warns_above_two_percent():
    assert truncation_line(1, 117, 64, "ratio 0.5") == "1 of 117 answers of ratio 0.5 hit the 64-token limit"
    assert truncation_line(12, 117, 64, "ratio 0.5").startswith(
        "Warning: 12 of 117 answers of ratio 0.5 hit the 64-token limit")


def test_an_own_label_task_gets_room_to_explain_and_the_quickstart_pins_its_limit(smollm2_dir):
    from importlib import resources

    from iftkit.config import load_recipe
    from iftkit.data.tasks import get_task
    root = Path(__file__).resolve().parents[2]
    rows = get_task("sentiment").generate(100, seed=0)
    # --target-file sweeps start from the packaged defaults: the label floor applies
    own = load_recipe(resources.files("iftkit.defaults") / "quickstart_sweep.yaml")
    lim = in_domain_limit(own.eval, rows, str(smollm2_dir))
    assert own.eval.max_new_tokens == 32 and lim.tokens == LABEL_FLOOR  # not 32: a base model may explain first
    assert f"a label task gets at least {LABEL_FLOOR}" in lim.why
    # the quickstart sets its limit in the recipe (its cost and README's measured numbers stay as they were)
    quick = load_recipe(root / "recipes" / "sweeps" / "quickstart.yaml")
    assert in_domain_limit(quick.eval, rows, str(smollm2_dir)).tokens == 32


def test_a_label_task_floor_is_the_label_floor_and_other_tasks_keep_theirs(tiny_model_dir):
    from iftkit.data.tasks import get_task, infer_spec

    assert LABEL_FLOOR >= 96  # room for a few sentences of reasons before the label
    assert limit_from_lengths([2] * 50, floor=32, label_task=True).tokens == LABEL_FLOOR
    assert limit_from_lengths([2] * 50, floor=200, label_task=True).tokens == 200  # a larger general limit stays
    # a user's own label task, recognised through the spec its rows carry
    users = [Row([{"role": "user", "content": f"Review {i}: it {'soared' if i % 2 else 'sagged'}."}],
                 "positive" if i % 2 else "negative", "mine", "user", "positive" if i % 2 else "negative")
             for i in range(40)]
    spec = infer_spec(users).to_dict()
    users = [Row(r.prompt, r.completion, r.task, r.category, r.gold, r.source, {"task_spec": spec}) for r in users]
    assert in_domain_limit(EvalConfig(max_new_tokens=32), users, str(tiny_model_dir)).tokens == LABEL_FLOOR
    # a catalog classification family, and a short-answer task that is no label task (a count)
    cfg = EvalConfig(max_new_tokens=32)
    assert in_domain_limit(cfg, get_task("sentiment").generate(20, seed=0), str(tiny_model_dir)).tokens == LABEL_FLOOR
    assert in_domain_limit(cfg, get_task("count_items").generate(20, seed=0), str(tiny_model_dir)).tokens == 32
    # the recipe's own number still wins
    assert in_domain_limit(EvalConfig(max_new_tokens=32, in_domain_max_new_tokens=16), users,
                           str(tiny_model_dir)).tokens == 16
