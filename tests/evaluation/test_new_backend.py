"""Adding a chat backend is one file: this one declares a backend, registers it, and `iftkit eval`'s
generation path runs it by name (eval.backend) with no other edit, cache included."""

import json

import pytest

from iftkit.config.loader import validate
from iftkit.evaluation.evaluate import run_eval
from iftkit.models.chat.backend import ChatBackend, LocalModel
from iftkit.models.chat.registry import BackendInfo, register, unregister
from iftkit.models.chat.types import Completion


class KeywordChat(ChatBackend):
    """Answers every prompt with one word: 'negative' when an adapter is loaded, else 'positive'."""

    calls: list = []  # (label, prompts asked) per call, across instances

    def __init__(self, model: LocalModel):
        self.model = model
        self.name = f"keyword:{model.label}"

    def identity(self) -> dict:
        return {"backend": "keyword", "model": self.model.path, "adapter": self.model.adapter_path}

    def complete_many(self, messages_list, gen, seeds=None, on_done=None):
        KeywordChat.calls.append((self.model.label, len(messages_list)))
        word = "negative" if self.model.adapter_path else "positive"
        out = [Completion(word, prompt_tokens=len(m[-1]["content"]), completion_tokens=1, truncated=False)
               for m in messages_list]
        for i, c in enumerate(out):
            if on_done:
                on_done(i, c)
        return out


@pytest.fixture
def keyword_backend():
    KeywordChat.calls = []
    register(BackendInfo("keyword", KeywordChat, "one fixed word per answer (test)", runs="local"))
    yield
    unregister("keyword")


def _recipe(tiny_model_dir, mix_dir, tmp_path, backend):
    return validate({
        "model": {"id": str(tiny_model_dir)},
        "data": {"target_task": "sentiment"},
        "tracking": {"mode": "disabled"},
        "eval": {"backend": backend, "mix_dir": str(mix_dir), "suites": ["in_domain"], "scorers": ["exact_match"],
                 "max_new_tokens": 6, "cache_dir": str(tmp_path / "cache"), "bootstrap_samples": 0},
    })


def _predictions(out_dir) -> dict:
    rows = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    return {(r["model"], r["task"], r["sample_id"]): r["prediction"] for r in rows}


def test_a_registered_backend_runs_eval_generation_by_name_and_its_answers_are_cached(
    keyword_backend, tiny_model_dir, tiny_adapters, mix_dir, tmp_path
):
    recipe = _recipe(tiny_model_dir, mix_dir, tmp_path, "keyword")
    first = run_eval(recipe, [str(tiny_adapters[0])], tmp_path / "out1", progress=False)
    preds = _predictions(tmp_path / "out1")
    n = len(preds) // 2
    assert n == 3  # the target task's 3 test rows, for the base model and the adapter
    assert {p for (m, *_), p in preds.items() if m == "base"} == {"positive"}
    assert {p for (m, *_), p in preds.items() if m != "base"} == {"negative"}  # the adapter reached the backend
    assert sorted(KeywordChat.calls) == [("base", n), (tiny_adapters[0].name, n)]
    assert (first.counters.generations.new, first.counters.generations.cached) == (2 * n, 0)

    # another output dir, the same cache: every answer is served under the backend's identity, none asked
    again = run_eval(recipe, [str(tiny_adapters[0])], tmp_path / "out2", progress=False)
    assert _predictions(tmp_path / "out2") == preds
    assert len(KeywordChat.calls) == 2
    assert (again.counters.generations.new, again.counters.generations.cached) == (0, 2 * n)


def test_an_unknown_backend_name_fails_before_any_work_naming_the_key(tiny_model_dir, mix_dir, tmp_path):
    from iftkit.core.errors import IftkitError

    with pytest.raises(IftkitError, match=r"eval\.backend: unknown chat backend 'keyword' \(known: .*transformers"):
        run_eval(_recipe(tiny_model_dir, mix_dir, tmp_path, "keyword"), [], tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "samples.jsonl").exists()
