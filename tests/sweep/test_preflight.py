"""The user task's spec is checked before anything trains: unscorable set-ups stop the sweep, the one-cell
pipeline and `iftkit recipe check` with one line naming the fix; the spec is printed on every run."""

import json

import pytest

from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.sweep import pipeline, runner
from iftkit.testing.cli_runs import assert_one_line_error, run_iftkit
from iftkit.testing.sweep_runs import ROOT


def _file(tmp_path, pairs):
    f = tmp_path / "mine.jsonl"
    f.write_text("".join(json.dumps({"instruction": p, "output": c}) + "\n" for p, c in pairs))
    return f


def free_text(n=60):
    return [(f"Summarise: meeting {i} moved budget item {i} to next quarter.", f"Meeting {i} postponed item {i}.")
            for i in range(n)]


def same_answer(n=60):
    return [(f"Review {i}: the plot was fine.", "positive") for i in range(n)]


def prose_answers(n=60):
    return [(f"Ticket {i}: refund order {i}", f"refund order {i}") for i in range(n)]


def ner(n=60, nested=(5,)):
    out = []
    for i in range(n):
        ents = [{"text": f"Person{i}", "type": "PER"}, {"text": f"City{i}", "type": "LOC"}]
        if i in nested:
            ents[0]["text"] = {"value": f"Person{i}"}
        out.append((f"Entities in: Person{i} flew to City{i}.", json.dumps(ents)))
    return out


def _recipe(tmp_path, model_dir, pairs, scorers="[task_strict, task_tolerant]", kind="auto"):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"""
include: {ROOT / "recipes" / "quickstart.yaml"}
name: mine-sweep
model: {{id: {model_dir}}}
data: {{target_task: mine, target_files: [{_file(tmp_path, pairs)}], target_kind: {kind},
        samples_per_task: 20, general_tasks: [topic]}}
mix: {{target_ratio: 0.5, total_size: 16, val_size: 2, test_size_per_task: 2}}
eval: {{scorers: {scorers}, instruction_set: none}}
tracking: {{mode: disabled}}
sweep: {{grid: {{mix.target_ratio: [0.0, 1.0]}}, seeds: [0], out_dir: {tmp_path / "runs"}}}
""")
    return path


@pytest.fixture
def nothing_runs(monkeypatch):
    """Every way a sweep or the pipeline trains or evaluates, recorded instead of run."""
    ran = []
    for module in (runner, pipeline):
        monkeypatch.setattr(module, "train_adapter", lambda *a, **k: ran.append("train"))
        monkeypatch.setattr(module, "run_eval", lambda *a, **k: ran.append("eval"))
    return ran


UNSCORABLE = [
    (free_text, {}, "has no reference-based scorer (judge, embedding, chrf, rougeL, rouge1, bleu, exact_match) to "
                    "score it: add lexical or embedding to eval.scorers"),
    (same_answer, {}, "all 60 answers are the same ('positive'): nothing can be learnt or measured in-domain"),
    (prose_answers, {"kind": "structured"}, "none of the 30 test rows has a valid JSON answer"),
]


@pytest.mark.parametrize("rows, settings, why", UNSCORABLE, ids=["free-text", "one-answer", "no-json"])
def test_an_unscorable_target_stops_the_sweep_before_anything_runs(tmp_path, tiny_model_dir, nothing_runs,
                                                                    rows, settings, why):
    path = _recipe(tmp_path, tiny_model_dir, rows(), **settings)
    with pytest.raises(IftkitError, match="mine.jsonl: ") as err:
        runner.run_sweep(load_recipe(str(path)), str(path), say=lambda m: None, progress=False)
    assert why in str(err.value) and "\n" not in str(err.value)
    assert nothing_runs == []  # neither the base model's evaluation nor any cell's training started
    assert not (tmp_path / "runs").exists()  # no sweep folder, no adapter dir


def test_a_free_text_target_scored_only_by_a_judge_the_sweep_leaves_out_stops_before_anything_runs(
        tmp_path, tiny_model_dir, nothing_runs, isolated_cache):
    path = _recipe(tmp_path, tiny_model_dir, free_text(), scorers="[task_strict, task_tolerant, judge]")
    said = []
    with pytest.raises(IftkitError, match="mine.jsonl: ") as err:
        runner.run_sweep(load_recipe(str(path)), str(path), say=said.append, progress=False)
    assert "add lexical or embedding to eval.scorers" in str(err.value) and "\n" not in str(err.value)
    assert [m for m in said if m.startswith("[judge] not run: `judge`")]  # why the judge does not count
    assert nothing_runs == [] and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("rows, settings, why", UNSCORABLE, ids=["free-text", "one-answer", "no-json"])
def test_an_unscorable_target_stops_the_pipeline_before_the_mix(tmp_path, tiny_model_dir, nothing_runs,
                                                                rows, settings, why):
    path = _recipe(tmp_path, tiny_model_dir, rows(), **settings)
    out = tmp_path / "one-cell"
    with pytest.raises(IftkitError, match="mine.jsonl: "):
        pipeline.run_one_cell(load_recipe(str(path)), out, say=lambda m: None, progress=False)
    assert nothing_runs == [] and not out.exists()


def test_a_free_text_target_with_a_reference_scorer_passes(tmp_path, tiny_model_dir, nothing_runs, monkeypatch):
    monkeypatch.setattr(runner, "evaluate_base", lambda *a, **k: None)
    monkeypatch.setattr(runner, "run_cell", lambda *a, **k: None)
    path = _recipe(tmp_path, tiny_model_dir, free_text(), scorers="[task_tolerant, lexical]")
    said = []
    runner.run_sweep(load_recipe(str(path)), str(path), say=said.append, progress=False)
    assert said[0].startswith("target task mine: free-text task")


def test_the_spec_and_its_warnings_are_printed_on_every_sweep_run(tmp_path, tiny_model_dir, monkeypatch):
    # evaluate_base says the mix's summary only when it evaluates: a rerun (base done) must still say it
    monkeypatch.setattr(runner, "evaluate_base", lambda *a, **k: None)
    monkeypatch.setattr(runner, "run_cell", lambda *a, **k: None)
    path = _recipe(tmp_path, tiny_model_dir, ner(), scorers="[task_items]")
    for _ in range(2):
        said = []
        runner.run_sweep(load_recipe(str(path)), str(path), say=said.append, progress=False)
        assert said[0].startswith("target task mine: structured (JSON) task, records named by their `text` field")
        assert any("1 of 120 gold records have no text `text` field" in line for line in said)


def test_recipe_check_says_the_spec_and_refuses_an_unscorable_target(tmp_path, tiny_model_dir):
    good = run_iftkit("recipe", "check", "--config", _recipe(tmp_path, tiny_model_dir, ner()), pythonpath=ROOT)
    assert good.returncode == 0, good.stderr
    assert "# target task mine: structured (JSON) task, records named by their `text` field" in good.stdout
    bad = run_iftkit("recipe", "check", "--config", _recipe(tmp_path, tiny_model_dir, same_answer()), pythonpath=ROOT)
    assert_one_line_error(bad, f"iftkit: error: {tmp_path / 'mine.jsonl'}: all 60 answers are the same ('positive'): "
                               f"nothing can be learnt or measured in-domain; give rows with different answers")
