"""Batched generation (left padding, chat template) and the on-disk generation cache."""

from iftkit.config.schema import ModelConfig
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.generation import generate_batched
from iftkit.evaluation.generator import CachedGenerator, ModelUnderTest
from iftkit.evaluation.sqlite_store import JsonStore
from iftkit.models.generate import chat_prompt_text, generate_one

PROMPTS = [[{"role": "user", "content": q}] for q in [
    "Classify the sentiment of this review: positive or negative.",
    "What is 12 plus 7?",
    "Extract every email address and date from the text below. The quick brown fox jumps over the lazy dog.",
    "Sort the list.",
    "Count the words.",
]]


def test_batched_matches_one_at_a_time(tiny_model_dir):
    from iftkit.models.load import load_model, load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir))
    model = load_model(ModelConfig(id=str(tiny_model_dir)), path=str(tiny_model_dir)).eval()
    assert chat_prompt_text(tok, PROMPTS[0]).endswith("<|im_start|>assistant\n")
    batched = generate_batched(model, tok, PROMPTS, max_new_tokens=8, batch_size=3, progress=False)
    single = [generate_one(model, tok, p, max_new_tokens=8) for p in PROMPTS]
    assert batched == single
    assert tok.padding_side == "right" or tok.padding_side == "left"  # restored, whatever it was


def test_cache_makes_a_rerun_load_nothing(tiny_model_dir, tiny_adapters, tmp_path):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    cfg = ModelConfig(id=str(tiny_model_dir))
    base = ModelUnderTest("base", str(tiny_model_dir))
    adapter = ModelUnderTest("a", str(tiny_model_dir), str(tiny_adapters[0]))
    c1 = Counters()
    out_base = CachedGenerator(base, cfg, store, c1, 8, 4, progress=False).generate(PROMPTS)
    out_adapter = CachedGenerator(adapter, cfg, store, c1, 8, 4, progress=False).generate(PROMPTS)
    assert (c1.generations_new, c1.generations_cached, c1.models_loaded) == (10, 0, 2)
    assert out_base != out_adapter  # the adapter is part of the key (and changes the outputs)
    c2 = Counters()
    again = CachedGenerator(base, cfg, store, c2, 8, 4, progress=False).generate(PROMPTS[:3] + [[{"role": "user", "content": "new"}]])
    assert again[:3] == out_base[:3]
    assert (c2.generations_new, c2.generations_cached, c2.models_loaded) == (1, 3, 1)
    c3 = Counters()
    CachedGenerator(base, cfg, store, c3, 16, 4, progress=False).generate(PROMPTS[:1])  # other generation config
    assert c3.generations_new == 1
