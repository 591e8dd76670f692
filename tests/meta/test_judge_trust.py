"""The judge trust gate: a judge output carries a report only when its measured agreement with human
preferences has an exact (Clopper-Pearson) 95 % lower bound of 0.65 or more over at least 100 pairs, measured
on that same output and prompt; a judge below that, or never measured, is kept off the primary and general axes,
and the report says why, with its position and length bias. Fake judges with known agreement, on a human set
written here, and simulations with a known truth."""

import json
from pathlib import Path

import pytest

from iftkit.cli import main as iftkit_main
from iftkit.config.schema import Recipe
from iftkit.meta import judge_trust
from iftkit.report.axes import ReportSpec
from iftkit.report.render import write_report
from iftkit.testing.judge_server import JudgeServer

LLMBAR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"
N = 100


def human_set(path: Path, n: int = N) -> Path:
    """n LLMBar-style pairs; the human prefers `right i`, in slot 1 or 2 alternately."""
    rows = []
    for i in range(n):
        right, wrong = f"right answer {i}", f"wrong answer {i}"
        first, second, label = (right, wrong, 1) if i % 2 else (wrong, right, 2)
        rows.append({"input": f"question {i}", "output_1": first, "output_2": second, "label": label})
    path.write_text(json.dumps(rows))
    return path


def fake_judge(agree_on: int):
    """A judge that picks the human's answer, in either order, on the first `agree_on` questions and the
    other answer on the rest: agreement agree_on / N, by construction, and no position bias."""
    def judge(triples):
        out = []
        for prompt, first, second in triples:
            i = int(prompt.split()[-1])
            good = first if first.startswith("right") else second
            pick = good if i < agree_on else (second if good == first else first)
            out.append("a" if pick == first else "b")
        return out
    return judge


def always_first(triples):
    return ["a"] * len(triples)


def openai_recipe(model="judge-model", url="http://127.0.0.1:9/v1") -> Recipe:
    r = Recipe()
    r.eval.judge.backend, r.eval.judge.base_url, r.eval.judge.model = "openai", url, model
    r.eval.judge.verdict = "text"
    return r


def test_a_judge_at_chance_is_refused_and_one_above_it_accepted(tmp_path, isolated_cache):
    file = human_set(tmp_path / "human.json")
    recipe = openai_recipe()
    coin = judge_trust.measure(recipe, file, judge=fake_judge(50), resamples=500, log=lambda *_: None)
    assert not coin.trusted and coin.agreement["value"] == 0.5 and coin.agreement["ci_low"] < 0.5
    assert "below 0.65" in coin.reason and coin.figure == "agreement_exact" and coin.pairs == N
    # the position-biased judge ties every pair once both orders are combined; a tie does not agree
    biased = judge_trust.measure(recipe, file, judge=always_first, resamples=500, log=lambda *_: None)
    assert not biased.trusted and biased.agreement["value"] == 0.0 and biased.gate["ties"] == N
    assert "picks the first slot in 1.00 of decisive verdicts, agreement 0.50 in the given order vs 0.50 swapped" \
        in biased.line()
    good = judge_trust.measure(recipe, file, judge=fake_judge(80), resamples=500, log=lambda *_: None)
    assert good.trusted and good.agreement["value"] == 0.8
    assert good.agreement["ci_low"] == pytest.approx(0.7082, abs=1e-3)  # exact: beta.ppf(0.025, 80, 21)
    assert judge_trust.cached(recipe).trusted  # the last measurement of this judge identity is the one cached
    assert "agrees with humans 0.80 [0.71, 0.87] over 100 pairs" in good.line()
    assert "picks the first slot in 0.50" in good.line()


def test_length_bias_is_reported_beside_the_humans_share(tmp_path, isolated_cache):
    """Humans prefer the longer answer on 70 of 100 pairs; a judge that always picks the longer one agrees on 0.70
    (exact lower bound 0.60: refused) and the report shows 1.00 vs 0.70."""
    rows = []
    for i in range(N):
        right, wrong = (f"right answer {i}, in full", f"wrong {i}") if i < 70 else (f"right {i}", f"wrong answer {i}!")
        rows.append({"input": f"question {i}", "output_1": right, "output_2": wrong, "label": 1})
    file = tmp_path / "h.json"
    file.write_text(json.dumps(rows))
    from iftkit.meta.pairwise import prefer_longer

    got = judge_trust.measure(openai_recipe(), file, judge=prefer_longer, resamples=50, log=lambda *_: None)
    assert got.agreement["value"] == 0.7 and not got.trusted
    assert "length: prefers the longer answer in 1.00 of decisive calls vs 0.70 for the humans" in got.line()


def test_agreement_just_above_chance_on_few_pairs_is_not_enough(tmp_path, isolated_cache):
    file = human_set(tmp_path / "human.json", n=40)
    slight = judge_trust.measure(openai_recipe(), file, judge=fake_judge(24), resamples=500, log=lambda *_: None)
    assert slight.agreement["value"] == 0.6 and not slight.trusted  # 0.60 on 40 pairs: CI reaches below 0.5
    # even a perfect judge needs eval.judge.trust_min_pairs (100) pairs before the gate can pass
    perfect = judge_trust.measure(openai_recipe(), file, judge=fake_judge(40), resamples=50, log=lambda *_: None)
    assert perfect.agreement["value"] == 1.0 and not perfect.trusted
    assert "only 40 human pairs" in perfect.reason and "eval.judge.trust_min_pairs" in perfect.reason
    fewer = openai_recipe()
    fewer.eval.judge.trust_min_pairs = 40  # the thresholds apply when the record is read: no new measurement
    assert judge_trust.cached(fewer).trusted


def test_the_agreement_threshold_is_a_recipe_key(tmp_path, isolated_cache):
    judge_trust.measure(openai_recipe(), human_set(tmp_path / "h.json"), judge=fake_judge(80), resamples=50,
                        log=lambda *_: None)
    strict = openai_recipe()
    strict.eval.judge.trust_min_agreement = 0.75  # 0.80 over 100 pairs: exact lower bound 0.71
    got = judge_trust.cached(strict)
    assert not got.trusted and "below 0.75" in got.reason and "eval.judge.trust_min_agreement" in got.reason


def _simulate(agreement: float, pairs: int, runs: int, seed: int = 0) -> float:
    """Share of `runs` measurements (through pairwise.summarise) in which a judge that agrees with each human
    pair with probability `agreement`, in both orders alike, passes the gate at its defaults."""
    import numpy as np

    from iftkit.meta import pairwise
    from iftkit.meta.human import HumanPair

    rng = np.random.default_rng(seed)
    human = [HumanPair(f"question {i}", f"right answer {i}", f"wrong answer {i}", "a") for i in range(pairs)]
    passed = 0
    for _ in range(runs):
        hits = rng.random(pairs) < agreement
        def judge(triples, hits=hits):
            return [("a" if hits[int(p.split()[-1])] == (a.startswith("right")) else "b") for p, a, _ in triples]
        passed += judge_trust.decide(pairwise.summarise(pairwise.judge_pairs(judge, human), 20))[0]
    return passed / runs


def test_by_simulation_a_chance_judge_passes_at_most_5_percent_at_the_minimum_pair_count():
    assert _simulate(0.5, judge_trust.MIN_PAIRS, 200) <= 0.05


@pytest.mark.parametrize("pairs", [100, 400])
def test_by_simulation_a_60_percent_judge_does_not_pass(pairs):
    """Strong judges reach 0.80-0.95 on LLMBar; one that agrees on 0.60 is not worth a report's words."""
    assert _simulate(0.6, pairs, 100, seed=pairs) == 0.0


def test_by_simulation_an_85_percent_judge_on_200_pairs_passes_most_of_the_time():
    assert _simulate(0.85, 200, 100) >= 0.9


def test_the_corrected_rate_covers_the_truth_about_95_percent_of_the_time():
    """Rogan-Gladen by simulation: a judge with sensitivity 0.85 and specificity 0.75, measured on 150 + 150
    human pairs, scores 300 test prompts whose true win share is 0.30; the interval on the corrected share
    counts both sets. The judged share itself (about 0.43) would be far off."""
    import numpy as np

    rng = np.random.default_rng(1)
    truth, se, sp, n_test, n_cal = 0.30, 0.85, 0.75, 300, 150
    covered, judged, fixed = 0, [], []
    for _ in range(2000):
        wins_true = rng.random(n_test) < truth
        called = np.where(wins_true, rng.random(n_test) < se, rng.random(n_test) > sp)
        cal = {"sensitivity": [int((rng.random(n_cal) < se).sum()), n_cal],
               "specificity": [int((rng.random(n_cal) < sp).sum()), n_cal]}
        est = judge_trust.corrected_rate(float(called.sum()), n_test, cal)
        covered += est.ci_low <= truth <= est.ci_high
        judged.append(called.mean())
        fixed.append(est.value)
    assert 0.93 <= covered / 2000 <= 0.97
    assert abs(np.mean(judged) - truth) > 0.1 and abs(np.mean(fixed) - truth) < 0.01
    # a judge at chance leaves nothing to correct with
    assert judge_trust.corrected_rate(40, 100, {"sensitivity": [50, 100], "specificity": [50, 100]}).value is None


def test_the_gate_holds_its_error_rate_for_a_judge_at_chance():
    """By simulation: a judge that agrees with each human pair with probability 0.5 is trusted in at most
    ~5 % of 200 measurements (one-sided: at most 2.5 % plus the percentile bootstrap's slack)."""
    import numpy as np

    from iftkit.meta import pairwise
    from iftkit.meta.human import HumanPair

    rng = np.random.default_rng(0)
    pairs = [HumanPair(f"question {i}", f"right answer {i}", f"wrong answer {i}", "a") for i in range(N)]
    trusted = 0
    for _ in range(200):
        hits = rng.random(N) < 0.5
        def judge(triples, hits=hits):
            return [("a" if hits[int(p.split()[-1])] == (a.startswith("right")) else "b") for p, a, _ in triples]
        trusted += judge_trust.decide(pairwise.summarise(pairwise.judge_pairs(judge, pairs), 300))[0]
    assert trusted <= 10


def test_a_judge_never_measured_is_untrusted_and_another_judge_does_not_inherit_trust(tmp_path, isolated_cache):
    file = human_set(tmp_path / "human.json")
    never = judge_trust.cached(openai_recipe())
    assert not never.trusted and never.agreement is None and "never measured" in never.reason
    judge_trust.measure(openai_recipe(), file, judge=fake_judge(90), resamples=200, log=lambda *_: None)
    assert judge_trust.cached(openai_recipe()).trusted
    assert not judge_trust.cached(openai_recipe(model="other-model")).trusted
    other_prompt = openai_recipe()
    other_prompt.eval.judge.pairwise_prompt_file = str(_prompt_variant(tmp_path))
    assert not judge_trust.cached(other_prompt).trusted


def _prompt_variant(tmp_path) -> Path:
    from importlib import resources

    import yaml

    src = resources.files("iftkit.evaluation.judge").joinpath("default_prompts", "judge_pairwise.yaml").read_text()
    data = yaml.safe_load(src)
    data["system"] += " Be brief."
    path = tmp_path / "pairwise.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_single_score_file_is_refused_as_a_trust_set_in_one_line(tmp_path, isolated_cache):
    f = tmp_path / "scores.jsonl"
    f.write_text('{"prompt": "p", "response": "r", "score": 3}\n')
    with pytest.raises(Exception) as err:
        judge_trust.measure(openai_recipe(), f, judge=always_first, log=lambda *_: None)
    assert "needs pairwise human preferences" in str(err.value) and "\n" not in str(err.value)


# --- the report's gate -----------------------------------------------------------------------


def _free_text_rows():
    """A free-text target: only the judge and chrF scored both suites; the judge ranks first as fallback."""
    rows = []
    for cell, grid, ind, gen in [("base", {}, 0.3, 0.6), ("r1", {"mix.target_ratio": 0.1}, 0.5, 0.6),
                                 ("r5", {"mix.target_ratio": 0.5}, 0.8, 0.5)]:
        for scorer, scale in (("judge", 1.0), ("chrf", 0.5)):
            for suite, mean in (("in_domain", ind), ("general", gen)):
                rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer=scorer, mean=mean * scale))
    return rows


META = {"target_task": "summaries", "target_spec": {"kind": "free_text", "description": "free-text task"}}


def fake_grader(agree_on: int):
    """A reference-guided 0-10 judge that grades the human's answer 8 and the other 3 on the first `agree_on`
    questions, and the reverse on the rest."""
    def grade(items):
        return [(8.0 if a.startswith("right") == (int(p.split()[-1]) < agree_on) else 3.0) for p, a in items]
    return grade


def test_the_report_keeps_an_untrusted_judge_off_the_axes_and_says_why(tmp_path, isolated_cache):
    measured = judge_trust.measure(openai_recipe(), human_set(tmp_path / "h.json"), judge=fake_grader(50),
                                   resamples=200, log=lambda *_: None, output="reference")
    files = write_report(_free_text_rows(), tmp_path / "r", ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         META, judge_trust=measured)
    md = files.markdown.read_text()
    assert files.summary["primary_scorer"] == "chrf"
    assert "## Judge trust" in md and "agrees with humans 0.50 [0.40, 0.60] over 100 pairs" in md
    assert "as reference-guided 0-10 judge agrees" in md
    assert "position: none possible (it grades one answer at a time)" in md
    assert "below 0.65" in md and "Kept off the primary scorer and the general axis: `judge`" in md
    assert "| judge (human agreement 0.50 [0.40, 0.60] over 100 pairs; not trusted) |" in md
    assert files.summary["judge_trust"]["gated"] == ["judge"]


def test_a_pairwise_measurement_does_not_admit_the_reference_guided_judge(tmp_path, isolated_cache):
    """The gate used to measure the pairwise prompt and then admit the 0-10 judge: each output needs its own."""
    file = human_set(tmp_path / "h.json")
    pairwise = judge_trust.measure(openai_recipe(), file, judge=fake_judge(85), resamples=200, log=lambda *_: None)
    files = write_report(_free_text_rows(), tmp_path / "r", ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         META, judge_trust=pairwise)
    assert pairwise.trusted and files.summary["primary_scorer"] == "chrf"
    assert "its reference-guided 0-10 judge output was never measured" in files.markdown.read_text()
    graded = judge_trust.measure(openai_recipe(), file, judge=fake_grader(85), resamples=200, log=lambda *_: None,
                                 output="reference")
    assert graded.trusted and judge_trust.cached(openai_recipe(), output="reference").trusted
    files = write_report(_free_text_rows(), tmp_path / "r2", ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         META, judge_trust=judge_trust.judge_trust(openai_recipe(), {"judge", "judge_pairwise"}))
    assert files.summary["primary_scorer"] == "judge"
    assert "| judge (human agreement 0.85 [0.76, 0.91] over 100 pairs; trusted) |" in files.markdown.read_text()


def test_the_report_corrects_the_pairwise_judges_win_rates_for_its_measured_errors(tmp_path, isolated_cache):
    measured = judge_trust.measure(openai_recipe(), human_set(tmp_path / "h.json"), judge=fake_judge(85),
                                   resamples=200, log=lambda *_: None)
    rows = [dict(r, scorer="judge_pairwise", n=200) if r["scorer"] == "judge" else r for r in _free_text_rows()]
    files = write_report(rows, tmp_path / "r", ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         META, judge_trust=measured)
    md = files.markdown.read_text()
    (se, se_n), (sp, sp_n) = measured.gate["calibration"].values()
    se, sp = se / se_n, sp / sp_n  # 0.84 and 0.86: the judge errs on 15 of 100 pairs, 8 of them preferred a
    assert (round(se, 2), round(sp, 2), se_n + sp_n) == (0.84, 0.86, 100)
    assert "corrected for sensitivity 0.84, specificity 0.86 (100 human pairs) (Rogan-Gladen" in md
    assert f"- r5: 0.800 judged, {(0.8 + sp - 1) / (se + sp - 1):.3f} [" in md and "corrected (n=200)" in md


def test_a_judge_never_measured_is_never_the_fallback_nor_the_requested_primary(tmp_path):
    files = write_report(_free_text_rows(), tmp_path / "r", ReportSpec("s", "mix.target_ratio", "judge", 0.95), META)
    assert files.summary["primary_scorer"] == "chrf"
    assert "judge (sweep.primary_scorer) is a judge the trust gate refuses" in files.summary["primary_reason"]
    assert "never measured" in files.markdown.read_text()


# --- meta-eval records and prints the same figure -----------------------------------------------


def test_meta_eval_human_measures_the_recipes_judge_over_http_and_caches_it(tmp_path, isolated_cache, capsys):
    file = human_set(tmp_path / "human.json", n=20)
    with JudgeServer() as server:  # answers "tie" to these pairs (it prefers neither): no pair agrees
        recipe = tmp_path / "judge.yaml"
        recipe.write_text(f"eval: {{judge: {{backend: openai, base_url: '{server.url}', model: judge-model, "
                          "verdict: text}}\n")
        rc = iftkit_main(["meta-eval", "--human", str(file), "--scorers", "judge_pairwise,judge", "--config",
                          str(recipe), "--out", str(tmp_path / "m"), "--resamples", "50", "--no-wandb"])
        # 20 pairs in both orders, and the reference-guided judge grading 40 answers one at a time
        assert rc == 0 and server.requests == 80
    printed = capsys.readouterr().out
    assert "judge trust: openai:judge-model at http://127.0.0.1:" in printed
    assert "as pairwise judge (A/B/tie, both orders) agrees with humans" in printed
    assert "agrees with humans 0.00 [0.00, 0.17] over 20 pairs of" in printed and "only 20 human pairs" in printed
    assert "## Judge trust" in (tmp_path / "m" / "meta_eval.md").read_text()
    from iftkit.config import load_recipe

    cached = judge_trust.cached(load_recipe(recipe))
    assert cached.agreement["value"] == 0.0 and not cached.trusted and cached.human_file == str(file)
    assert cached.gate["ties"] == 20 and cached.bias["first_slot_rate"]["value"] is None  # no decisive verdict
    graded = judge_trust.cached(load_recipe(recipe), output="reference")  # equal lengths: equal grades
    assert graded.agreement["value"] == 0.0 and graded.gate["ties"] == 20 and "as reference-guided" in printed


def test_a_recipe_trust_set_is_measured_once_when_the_report_needs_it(tmp_path, isolated_cache):
    file = human_set(tmp_path / "human.json", n=10)
    with JudgeServer() as server:
        recipe = openai_recipe(url=server.url)
        recipe.eval.judge.trust_set = str(file)
        first = judge_trust.judge_trust(recipe, {"chrf", "judge"}, log=lambda *_: None)
        # the reference-guided judge grades each of the 20 answers alone; the pairwise judge is not asked
        assert list(first) == ["reference"] and server.requests == 20
        assert all(b["messages"][-1]["content"].count("ANSWER:") == 1 for b in server.bodies)
        assert first["reference"].agreement["value"] == 0.0 and first["reference"].gate["ties"] == 10
        again = judge_trust.judge_trust(recipe, {"judge"}, log=lambda *_: None)
        assert again["reference"].agreement == first["reference"].agreement and server.requests == 20  # cached
        both = judge_trust.judge_trust(recipe, {"judge", "judge_pairwise"}, log=lambda *_: None)
        assert sorted(both) == ["pairwise", "reference"] and server.requests == 40  # 10 pairs in both orders
    assert judge_trust.judge_trust(recipe, {"chrf"}) is None  # no judge scored: nothing to gate


@pytest.mark.skipif(not LLMBAR.is_file(), reason="../shared/data/llmbar/LLMBar_Natural.json not present")
def test_on_llmbar_natural_preferring_the_longer_answer_does_not_clear_the_gate(tmp_path, isolated_cache):
    from iftkit.meta.pairwise import prefer_longer

    got = judge_trust.measure(openai_recipe(), LLMBAR, judge=prefer_longer, resamples=500, log=lambda *_: None)
    assert got.pairs == 100 and 0.5 < got.agreement["value"] < 0.6 and not got.trusted


def test_the_gate_thresholds_change_no_eval_identity():
    """They apply to a cached measurement when a report is written: setting them never re-evaluates a sweep."""
    from iftkit.config import identity as ids

    strict = Recipe()
    strict.eval.judge.trust_min_agreement, strict.eval.judge.trust_min_pairs = 0.8, 300
    assert ids.identity(strict, ids.EVAL_SECTIONS) == ids.identity(Recipe(), ids.EVAL_SECTIONS)
    assert ids.legacy_hash(strict, ids.EVAL_SECTIONS) == ids.legacy_hash(Recipe(), ids.EVAL_SECTIONS)
