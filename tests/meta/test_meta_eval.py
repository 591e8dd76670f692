import json

import pytest

from iftkit.core.errors import IftkitError
from iftkit.meta.meta_eval import MetaEvalOptions, run_meta_eval
from iftkit.testing import meta_fixtures as fx


@pytest.fixture
def results(tmp_path):
    return fx.write_results(tmp_path / "run")


def _run(results, out, **kw):
    return run_meta_eval(
        results,
        out=out,
        opts=MetaEvalOptions(factory=fx.factory, task_lookup=fx.lookup, resamples=200, log=lambda *_: None, **kw),
    )


def test_table_for_every_scorer_and_tfa_orders_tolerant_above_exact(results, tmp_path):
    p = _run(results, tmp_path / "out")
    by = {s["scorer"]: s for s in p["scorers"]}
    assert set(by) == {"exact_match", "task_tolerant", "overlap", "length"}
    # measured: exact match ties every reformatted answer with every wrong one (coin flip)
    assert by["exact_match"]["tfa"]["value"] == pytest.approx(0.5)
    assert by["task_tolerant"]["tfa"]["value"] > by["exact_match"]["tfa"]["value"]
    assert by["task_tolerant"]["tfa_by_perturbation"]["synonym_label"] < 1.0  # not accepted by construction
    # CIT: length of the answer barely tracks correctness; tolerant is the reference itself
    assert by["task_tolerant"]["cit_kendall"]["value"] == pytest.approx(1.0)
    assert by["length"]["cit_kendall"]["value"] < by["exact_match"]["cit_kendall"]["value"]
    for s in p["scorers"]:
        for key in ("cit_kendall", "cat_pooled", "tfa"):
            e = s[key]
            assert e["ci_low"] <= e["value"] <= e["ci_high"], (s["scorer"], key)
    assert p["verdicts"]["exact_match"]["requirements"]["TFA"] == "fails"
    assert p["verdicts"]["task_tolerant"]["requirements"] == {"CIT": "meets", "CAT": "meets", "TFA": "meets"}


def test_models_cit_ranks_the_four_models(results, tmp_path):
    by = {s["scorer"]: s for s in _run(results, tmp_path / "out")["scorers"]}
    assert by["task_tolerant"]["cit_models"]["value"] == pytest.approx(1.0)
    assert by["exact_match"]["cit_models"]["value"] is not None


def test_reports_are_written_and_html_is_self_contained(results, tmp_path):
    out = tmp_path / "out"
    _run(results, out)
    md = (out / "meta_eval.md").read_text()
    html = (out / "meta_eval.html").read_text()
    assert md.count("\n| ") >= 5 and "## Verdicts" in md
    assert "<table>" in html and "http://" not in html and "https://" not in html
    saved = json.loads((out / "meta_eval.json").read_text())
    assert saved["reference"].startswith("gold answers")


def test_sweep_dir_with_several_runs_keeps_models_apart(tmp_path):
    fx.write_results(tmp_path / "sweep" / "cell-a" / "eval")
    fx.write_results(tmp_path / "sweep" / "cell-b" / "eval", models=("base", "good"))
    p = _run(tmp_path / "sweep", tmp_path / "out")
    assert p["records"] == 22 * 6


def test_human_scores_become_the_reference_and_unmatched_rows_are_scored(results, tmp_path):
    rows = [
        {"prompt": f"Review {i}: what is the sentiment?", "response": r, "score": s}
        for i, (r, s) in enumerate(
            [
                ("positive", 5),
                ("I'd say negative", 4),
                ("neutral", 1),
                ("positive", 2),
                ("negative", 5),
                ("It is neutral.", 3),
            ]
        )
    ]
    human = tmp_path / "human.jsonl"
    human.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = run_meta_eval(
        None,
        human_file=human,
        out=tmp_path / "o",
        opts=MetaEvalOptions(
            factory=fx.factory,
            task_lookup=fx.lookup,
            scorers=["exact_match", "length"],
            resamples=100,
            log=lambda *_: None,
        ),
    )
    assert p["reference"].startswith("human scores")
    assert p["records"] == 6
    assert {s["scorer"] for s in p["scorers"]} == {"exact_match", "length"}


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(IftkitError, match="no samples.jsonl under it"):
        run_meta_eval(tmp_path, opts=MetaEvalOptions(factory=fx.factory))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "samples.jsonl").write_text('{"model": "base", "task": "t", "prediction": "x"}\n')
    with pytest.raises(IftkitError, match=r"samples.jsonl:1: sample record lacks scores"):
        run_meta_eval(bad, opts=MetaEvalOptions(factory=fx.factory))


def test_a_scorer_that_cannot_be_built_gets_na_not_a_crash(results, tmp_path):
    def factory(name, **kw):
        if name == "length":
            raise RuntimeError("model weights missing")
        return fx.factory(name)

    p = run_meta_eval(
        results, opts=MetaEvalOptions(factory=factory, task_lookup=fx.lookup, resamples=50, log=lambda *_: None)
    )
    by = {s["scorer"]: s for s in p["scorers"]}
    assert by["length"]["tfa"]["value"] is None and "model weights missing" in by["length"]["tfa"]["note"]
    assert by["length"]["cit_kendall"]["value"] is not None  # CIT/CAT come from the stored scores


def test_pairwise_judge_position_and_length_bias_on_results_and_human_pairs(results, tmp_path):
    """The eval stage's PairwiseJudge over a fake client (always answers "Winner: A"): every call
    picks the first slot, which the report must show as full position bias."""
    prompts = pytest.importorskip("iftkit.evaluation.judge.prompts")
    from iftkit.core.store import JsonStore
    from iftkit.evaluation.judge.client import JudgeClient
    from iftkit.evaluation.scorers import get_scorer
    from iftkit.models.chat.backend import ChatBackend
    from iftkit.models.chat.cache import CachedChat
    from iftkit.models.chat.types import Completion, GenConfig

    class FirstSlotBackend(ChatBackend):  # a chat backend with text only (no probabilities), always "Winner: A"
        def identity(self):
            return {"backend": "fake", "model": "first-slot"}

        def complete_many(self, msgs, gen, seeds=None, on_done=None):
            out = [Completion("Winner: A") for _ in msgs]
            for i, c in enumerate(out):
                on_done(i, c)
            return out

    client = JudgeClient(CachedChat(FirstSlotBackend(), JsonStore(tmp_path / "j.sqlite", "judge")), GenConfig(8))
    judge = get_scorer("judge_pairwise", client=client, prompt=prompts.load_judge_prompt("pairwise"))

    def factory(name, **kw):
        return judge if name == "judge_pairwise" else fx.factory(name)

    p = run_meta_eval(
        results,
        opts=MetaEvalOptions(
            factory=factory,
            task_lookup=fx.lookup,
            scorers=["exact_match", "judge_pairwise"],
            resamples=50,
            judge_max_items=6,
            log=lambda *_: None,
        ),
    )
    s = p["pairwise"]["judge_pairwise"]
    assert s["pairs"] == 6 and s["first_slot_rate"]["value"] == 1.0 and s["parse_failure_rate"] == 0.0
    assert "strong position bias" in s["description"]
    human = tmp_path / "pairs.jsonl"
    human.write_text(
        "".join(
            json.dumps({"prompt": f"q{i}", "response_a": "short", "response_b": "a longer answer", "preference": "b"})
            + "\n"
            for i in range(4)
        )
    )
    p = run_meta_eval(
        None,
        human_file=human,
        opts=MetaEvalOptions(factory=factory, scorers=["judge_pairwise"], resamples=50, log=lambda *_: None),
    )
    s = p["pairwise"]["judge_pairwise"]
    assert s["pairs"] == 4 and s["agreement_both_orders"]["value"] == 0.5 and s["against"].startswith("human")
    assert "## Pairwise judges vs human preferences" in p["markdown"]
