"""Eval generation through the chat backend's cache: a rerun loads no model (batched
generation itself is tested in tests/models/test_chat_local.py)."""

import pytest
from models.test_chat_local import PROMPTS  # one prompt set for both generation tests

from iftkit.config.schema import EvalConfig, ModelConfig
from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.generator import CachedGenerator, ModelUnderTest
from iftkit.models.chat.types import GenConfig

EV = EvalConfig(max_new_tokens=8, batch_size=4)


def _generate(gen: CachedGenerator, prompts, max_new_tokens: int = 8) -> list[str]:
    """Answers as eval asks them, then the model freed (which counts its loads)."""
    out = [c.text for c in gen.chat.complete_many(prompts, GenConfig(max_new_tokens=max_new_tokens))]
    gen.unload()
    return out


def test_cache_makes_a_rerun_load_nothing(tiny_model_dir, tiny_adapters, tmp_path):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    cfg = ModelConfig(id=str(tiny_model_dir))
    base = ModelUnderTest("base", str(tiny_model_dir))
    adapter = ModelUnderTest("a", str(tiny_model_dir), str(tiny_adapters[0]))
    c1 = Counters()
    out_base = _generate(CachedGenerator(base, cfg, EV, store, c1, progress=False), PROMPTS)
    out_adapter = _generate(CachedGenerator(adapter, cfg, EV, store, c1, progress=False), PROMPTS)
    assert (c1.generations.new, c1.generations.cached, c1.models_loaded) == (10, 0, 2)
    assert out_base != out_adapter  # the adapter is part of the key (and changes the outputs)
    c2 = Counters()
    again = _generate(CachedGenerator(base, cfg, EV, store, c2, progress=False),
                      PROMPTS[:3] + [[{"role": "user", "content": "new"}]])
    assert again[:3] == out_base[:3]
    assert (c2.generations.new, c2.generations.cached, c2.models_loaded) == (1, 3, 1)
    c3 = Counters()
    _generate(CachedGenerator(base, cfg, EV, store, c3, progress=False), PROMPTS[:1], 16)  # other generation config
    assert c3.generations.new == 1


def test_weights_dtype_is_part_of_the_key(tiny_model_dir, tmp_path):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    base = ModelUnderTest("base", str(tiny_model_dir))
    fp32 = CachedGenerator(base, ModelConfig(id=str(tiny_model_dir)), EV, store, Counters(), progress=False)
    _generate(fp32, PROMPTS[:2])
    c = Counters()
    bf16 = CachedGenerator(base, ModelConfig(id=str(tiny_model_dir), dtype="bfloat16"), EV, store, c, progress=False)
    _generate(bf16, PROMPTS[:2])
    assert c.generations.new == 2  # bf16 answers are not fp32's
    assert fp32.config_for(8)["dtype"] == "float32" and bf16.config_for(8)["dtype"] == "bfloat16"


def test_adapter_scale_interpolates_between_base_and_adapter_and_is_part_of_the_cache_key(
    tiny_model_dir, tiny_adapters, tmp_path
):
    store = JsonStore(tmp_path / "gen.sqlite", "generations")
    cfg = ModelConfig(id=str(tiny_model_dir))

    def generate(scale=None, adapter=True):
        mut = ModelUnderTest("m", str(tiny_model_dir), str(tiny_adapters[0]) if adapter else None)
        if scale is not None:
            mut.adapter_scale = scale
        counters = Counters()
        out = _generate(CachedGenerator(mut, cfg, EV, store, counters, progress=False), PROMPTS)
        return out, counters.generations.new

    base, _ = generate(adapter=False)
    trained, _ = generate()
    assert base != trained  # the adapter changes the outputs, so the comparisons below can fail
    at_zero, new = generate(0.0)
    assert at_zero == base and new == len(PROMPTS)  # generated afresh, not served from the base model's entries
    at_one, new = generate(1.0)
    assert at_one == trained and new == 0  # scale 1 is the adapter as trained, cached entries included
    half, new = generate(0.5)
    assert new == len(PROMPTS)  # a scaled output is stored under its own key, never served as another scale's
    assert half != trained


def test_scale_zero_gives_the_base_models_verdict_probabilities(tiny_model_dir, tiny_adapters):
    from peft.tuners.lora import LoraLayer

    from iftkit.models.chat.local import TransformersChat

    cfg = ModelConfig(id=str(tiny_model_dir))
    choices = [" the", " fox"]
    base = TransformersChat(cfg, str(tiny_model_dir)).choice_probs(PROMPTS, choices)
    scaled = TransformersChat(cfg, str(tiny_model_dir), str(tiny_adapters[0]), adapter_scale=0.0)
    trained = TransformersChat(cfg, str(tiny_model_dir), str(tiny_adapters[0]))
    for b, s, t in zip(base, scaled.choice_probs(PROMPTS, choices), trained.choice_probs(PROMPTS, choices)):
        assert s.probs == pytest.approx(b.probs, abs=1e-6)
        assert t.probs != pytest.approx(b.probs, abs=1e-6)
    # the scaling lasts only while the backend computes: the loaded adapter is left as trained
    [lora] = {m.scaling["default"] for m in scaled.load()[0].modules() if isinstance(m, LoraLayer)}
    assert lora == 8 / 4  # lora_alpha / r of the test adapter


def test_eval_dtype_training_follows_the_training_precision():
    from iftkit.config import load_recipe
    from iftkit.evaluation.evaluate import generation_dtype

    def resolved(*overrides):
        return generation_dtype(load_recipe("recipes/quickstart.yaml", ["--eval.dtype", *overrides]))

    assert resolved("training", "--training.bf16", "true") == "bfloat16"
    assert resolved("training", "--training.bf16", "false") == "model"
    assert resolved("training", "--training.bf16", "true", "--model.quantization.mode", "4bit") == "model"
    assert resolved("float32", "--training.bf16", "true") == "float32"  # an explicit dtype is kept


def test_answer_keys_are_those_of_cache_version_2(tiny_model_dir, tmp_path):
    """The answer cache and samples.jsonl key on these exact structures: a regrouped call (CachedGenerator
    taking eval's section, greedy_decode's DecodeSettings) must leave them as they are."""
    from iftkit.core.fingerprint import json_hash

    gen = CachedGenerator(ModelUnderTest("base", str(tiny_model_dir)), ModelConfig(id=str(tiny_model_dir)), EV,
                          JsonStore(tmp_path / "gen.sqlite", "generations"), Counters(), progress=False)
    greedy = {"max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0, "top_logprobs": 0}
    assert gen.chat.key("complete", GenConfig(max_new_tokens=8).identity(), PROMPTS[0]) == json_hash(
        [2, gen.backend.identity(), "complete", greedy, PROMPTS[0]])
    assert gen.config_for(8) == {"decoding": "greedy", "max_new_tokens": 8, "template": "chat+generation_prompt",
                                 "dtype": "float32", "cache_version": 2}
