"""Eval generation through the chat backend's cache: a rerun loads no model (batched
generation itself is tested in tests/models/test_chat_local.py)."""

from models.test_chat_local import PROMPTS  # one prompt set for both generation tests

from iftkit.config.schema import ModelConfig
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.generator import CachedGenerator, ModelUnderTest
from iftkit.evaluation.sqlite_store import JsonStore


def test_cache_makes_a_rerun_load_nothing(tiny_model_dir, tiny_adapters, tmp_path):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    cfg = ModelConfig(id=str(tiny_model_dir))
    base = ModelUnderTest("base", str(tiny_model_dir))
    adapter = ModelUnderTest("a", str(tiny_model_dir), str(tiny_adapters[0]))
    c1 = Counters()
    out_base = CachedGenerator(base, cfg, store, c1, 8, 4, progress=False).generate(PROMPTS)
    out_adapter = CachedGenerator(adapter, cfg, store, c1, 8, 4, progress=False).generate(PROMPTS)
    assert (c1.generations.new, c1.generations.cached, c1.models_loaded) == (10, 0, 2)
    assert out_base != out_adapter  # the adapter is part of the key (and changes the outputs)
    c2 = Counters()
    again = CachedGenerator(base, cfg, store, c2, 8, 4, progress=False).generate(
        PROMPTS[:3] + [[{"role": "user", "content": "new"}]]
    )
    assert again[:3] == out_base[:3]
    assert (c2.generations.new, c2.generations.cached, c2.models_loaded) == (1, 3, 1)
    c3 = Counters()
    CachedGenerator(base, cfg, store, c3, 16, 4, progress=False).generate(PROMPTS[:1])  # other generation config
    assert c3.generations.new == 1


def test_weights_dtype_is_part_of_the_key(tiny_model_dir, tmp_path):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    base = ModelUnderTest("base", str(tiny_model_dir))
    fp32 = CachedGenerator(base, ModelConfig(id=str(tiny_model_dir)), store, Counters(), 8, 4, progress=False)
    fp32.generate(PROMPTS[:2])
    c = Counters()
    bf16 = CachedGenerator(base, ModelConfig(id=str(tiny_model_dir), dtype="bfloat16"), store, c, 8, 4, progress=False)
    bf16.generate(PROMPTS[:2])
    assert c.generations.new == 2  # bf16 answers are not fp32's
    assert "dtype" not in fp32.gen_config and bf16.gen_config["dtype"] == "bfloat16"
