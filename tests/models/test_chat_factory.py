"""The backend registry and factory: which backend each recipe key builds, with what, and the identities
(cache keys) the built-in backends had before the registry existed, byte for byte."""

import importlib.machinery
import json
import os
import subprocess
import sys
import types

import pytest

from iftkit.config.loader import validate
from iftkit.config.schema import ModelConfig, SynthConfig
from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import adapter_fingerprint, model_fingerprint
from iftkit.core.paths import project_root
from iftkit.models.chat.backend import ChatBackend, LocalModel
from iftkit.models.chat.cache import CACHE_VERSION
from iftkit.models.chat.factory import check_backends, eval_backend, harness_engine, judge_backend, teacher_backend
from iftkit.models.chat.http import OpenAIChat
from iftkit.models.chat.local import TransformersChat
from iftkit.models.chat.registry import BackendInfo, register, registry


@pytest.fixture(scope="module")
def tiny_adapter_dir(tiny_model_dir, tmp_path_factory):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter")
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))
    model.save_pretrained(out)
    return out


@pytest.fixture
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)  # find_spec("vllm") answers from sys.modules
    monkeypatch.setitem(sys.modules, "vllm", vllm)


def _dump(backend: ChatBackend) -> str:
    return json.dumps(backend.identity(), ensure_ascii=False)


def test_the_built_in_backends_are_found_in_their_own_modules():
    reg = registry()
    assert {"transformers", "vllm", "openai"} <= set(reg)
    assert (reg["transformers"].runs, reg["vllm"].runs, reg["openai"].runs) == ("local", "local", "server")
    assert reg["transformers"].scales_adapters and not reg["vllm"].scales_adapters
    with pytest.raises(IftkitError, match="'vllm' is already registered"):
        register(BackendInfo("vllm", lambda m: None, "a second vllm"))


def test_identities_are_the_cache_keys_of_this_cache_version(tiny_model_dir, tiny_adapter_dir, fake_vllm):
    """The exact JSON of each identity (key order included), through the factory: a change here changes every
    cache key, so it goes with a CACHE_VERSION bump (models/chat/cache.py), never on its own."""
    assert CACHE_VERSION == 2, "identities below are those of cache version 2: update them with the version"
    base, ad = model_fingerprint(str(tiny_model_dir)), adapter_fingerprint(str(tiny_adapter_dir))
    cfg = ModelConfig(id=str(tiny_model_dir), dtype="bfloat16")
    local = LocalModel(cfg, str(tiny_model_dir))
    assert _dump(eval_backend("transformers", local)) == (
        f'{{"backend": "transformers", "model": "{base}", "dtype": "bfloat16", "quantization": "none", '
        '"adapter_scale": 1.0, "prompt_format": null}')
    scaled = LocalModel(cfg, str(tiny_model_dir), str(tiny_adapter_dir), adapter_scale=0.5)
    assert _dump(eval_backend("transformers", scaled)) == (
        f'{{"backend": "transformers", "model": "{base}+{ad}", "dtype": "bfloat16", "quantization": "none", '
        '"adapter_scale": 0.5, "prompt_format": null}')
    adapted = LocalModel(cfg, str(tiny_model_dir), str(tiny_adapter_dir))
    assert _dump(eval_backend("vllm", adapted)) == f'{{"backend": "vllm", "model": "{base}+{ad}", "dtype": "bfloat16"}}'
    recipe = validate({"eval": {"judge": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1/", "model": "jm"}}})
    assert _dump(judge_backend(recipe)) == (
        '{"backend": "openai", "url": "http://127.0.0.1:9/v1/chat/completions", "model": "jm"}')


def test_each_role_builds_the_backend_its_key_names(tiny_model_dir):
    recipe = validate({"model": {"id": str(tiny_model_dir)}, "eval": {"batch_size": 3}})
    judge = judge_backend(recipe)  # local: eval.backend's engine, the judge's own dtype
    assert type(judge) is TransformersChat and judge.batch_size == 3 and judge.model_cfg.dtype == "bfloat16"
    server = validate({"eval": {"judge": {"backend": "openai", "base_url": "http://h/v1", "model": "m",
                                          "backoff_s": 0.5, "max_consecutive_failures": 2}}})
    http = judge_backend(server)
    assert type(http) is OpenAIChat and (http.backoff_s, http.breaker.limit) == (0.5, 2)
    teacher = teacher_backend(SynthConfig(backend="openai", base_url="http://h/v1", model="t"))
    assert type(teacher) is OpenAIChat and teacher.backoff_s == 0.25 and teacher.name == "t"
    local_teacher = teacher_backend(SynthConfig(backend="local"), ModelConfig(id=str(tiny_model_dir)))
    assert type(local_teacher) is TransformersChat and local_teacher.name == str(tiny_model_dir)


def test_a_local_judge_runs_on_the_eval_engine_and_the_harness_on_transformers(tiny_model_dir, fake_vllm):
    from iftkit.models.chat.vllm import VllmChat

    recipe = validate({"model": {"id": str(tiny_model_dir)}, "eval": {"backend": "vllm"}})
    assert type(judge_backend(recipe)) is VllmChat
    # vLLM registers no lm-eval loader: the harness runs the HF model, under the keys it always had
    assert harness_engine("vllm").name == harness_engine("transformers").name == "transformers"


@pytest.mark.parametrize("ev, message", [
    ({"backend": "nope"}, r"eval\.backend: unknown chat backend 'nope' \(known: openai, transformers, vllm"),
    ({"backend": "openai"}, r"eval\.backend: openai asks a served model.*use one of transformers, vllm"),
    ({"judge": {"backend": "nope"}}, r"eval\.judge\.backend: unknown chat backend 'nope'"),
])
def test_a_recipe_naming_a_wrong_backend_fails_naming_the_key(ev, message):
    with pytest.raises(IftkitError, match=message):
        check_backends(validate({"eval": ev}))


def test_role_errors_name_what_is_missing(tiny_model_dir, tiny_adapter_dir):
    scaled = LocalModel(ModelConfig(id=str(tiny_model_dir)), str(tiny_model_dir), str(tiny_adapter_dir), 0.5)
    with pytest.raises(IftkitError, match="adapter_scale: the vllm backend cannot .* eval.backend: transformers"):
        eval_backend("vllm", scaled)
    with pytest.raises(IftkitError, match="eval.judge.base_url: required when eval.judge.backend = openai"):
        judge_backend(validate({"eval": {"judge": {"backend": "openai"}}}))
    with pytest.raises(IftkitError, match="data.synth.backend: unknown chat backend 'nope'"):
        teacher_backend(SynthConfig(backend="nope"))


def test_a_backend_that_gives_no_probabilities_says_so():
    class TextOnly(ChatBackend):
        def identity(self):
            return {"backend": "text-only"}

        def complete_many(self, messages_list, gen, seeds=None, on_done=None):
            return []

    assert not TextOnly().supports_probs
    with pytest.raises(NotImplementedError, match="TextOnly gives no choice probabilities"):
        TextOnly().choice_probs([[{"role": "user", "content": "x"}]], ["A", "B"])
    with pytest.raises(TypeError):  # identity and complete_many are the contract

        class Nothing(ChatBackend):
            pass

        Nothing()


def test_recipe_check_refuses_a_wrong_backend_name_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "iftkit", "recipe", "check", "--config",
                           str(project_root() / "recipes" / "quickstart.yaml"), "--eval.judge.backend", "openia"],
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "eval.judge.backend" in proc.stderr and "openia" in proc.stderr


def test_a_cache_version_bump_serves_no_entry_of_the_version_before(tmp_path, monkeypatch):
    """What a cache key covers is versioned (no per-field shims): entries of another version are asked again."""
    from iftkit.core.store import JsonStore
    from iftkit.models.chat import cache
    from iftkit.models.chat.types import Completion, GenConfig

    class Echo(ChatBackend):
        calls = 0

        def identity(self):
            return {"backend": "echo"}

        def complete_many(self, messages_list, gen, seeds=None, on_done=None):
            Echo.calls += len(messages_list)
            out = [Completion(text=m[-1]["content"]) for m in messages_list]
            for i, c in enumerate(out):
                on_done(i, c)
            return out

    store = JsonStore(tmp_path / "cache.sqlite", "gen")
    ask = [[{"role": "user", "content": "hi"}]]
    assert cache.CachedChat(Echo(), store).complete_many(ask, GenConfig(max_new_tokens=4))[0].text == "hi"
    cache.CachedChat(Echo(), store).complete_many(ask, GenConfig(max_new_tokens=4))
    assert Echo.calls == 1  # served from the cache
    monkeypatch.setattr(cache, "CACHE_VERSION", cache.CACHE_VERSION + 1)
    cache.CachedChat(Echo(), store).complete_many(ask, GenConfig(max_new_tokens=4))
    assert Echo.calls == 2
