"""The judge trust gate: a judge carries a report only when its measured agreement with human preferences
lies above chance with 95 % confidence; a judge at chance, or never measured, is kept off the primary and
general axes, and the report says why. Fake judges with known agreement, on a human set written here."""

import json
from pathlib import Path

import pytest

from iftkit.cli import main as iftkit_main
from iftkit.config.schema import Recipe
from iftkit.meta import judge_trust
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
    assert "includes chance" in coin.reason and coin.figure == "agreement_both_orders" and coin.pairs == N
    # the position-biased judge ties every pair once both orders are combined: 0.50 [0.50, 0.50]
    biased = judge_trust.measure(recipe, file, judge=always_first, resamples=500, log=lambda *_: None)
    assert not biased.trusted and (biased.agreement["ci_low"], biased.agreement["ci_high"]) == (0.5, 0.5)
    good = judge_trust.measure(recipe, file, judge=fake_judge(80), resamples=500, log=lambda *_: None)
    assert good.trusted and good.agreement["value"] == 0.8 and good.agreement["ci_low"] > 0.5
    assert judge_trust.cached(recipe).trusted  # the last measurement of this judge identity is the one cached
    assert "agrees with humans 0.80 [" in good.line() and "over 100 pairs" in good.line()


def test_agreement_just_above_chance_on_few_pairs_is_not_enough(tmp_path, isolated_cache):
    file = human_set(tmp_path / "human.json", n=40)
    slight = judge_trust.measure(openai_recipe(), file, judge=fake_judge(24), resamples=500, log=lambda *_: None)
    assert slight.agreement["value"] == 0.6 and not slight.trusted  # 0.60 on 40 pairs: CI reaches below 0.5


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


def test_the_report_keeps_an_untrusted_judge_off_the_axes_and_says_why(tmp_path, isolated_cache):
    measured = judge_trust.measure(openai_recipe(), human_set(tmp_path / "h.json"), judge=always_first, resamples=200,
                             log=lambda *_: None)
    files = write_report(_free_text_rows(), tmp_path / "r", "s", "mix.target_ratio", "task_tolerant", 0.95, META,
                         judge_trust=measured)
    md = files.markdown.read_text()
    assert files.summary["primary_scorer"] == "chrf"
    assert "## Judge trust" in md and "agrees with humans 0.50 [0.50, 0.50] over 100 pairs" in md
    assert "includes chance" in md and "Kept off the primary scorer and the general axis: `judge`" in md
    assert "| judge (human agreement 0.50 [0.50, 0.50] over 100 pairs; not trusted) |" in md
    assert files.summary["judge_trust"]["gated"] == ["judge"]


def test_the_report_uses_a_trusted_judge_as_before(tmp_path, isolated_cache):
    measured = judge_trust.measure(openai_recipe(), human_set(tmp_path / "h.json"), judge=fake_judge(85), resamples=200,
                             log=lambda *_: None)
    files = write_report(_free_text_rows(), tmp_path / "r", "s", "mix.target_ratio", "task_tolerant", 0.95, META,
                         judge_trust=measured)
    assert files.summary["primary_scorer"] == "judge"
    assert "| judge (human agreement 0.85 [" in files.markdown.read_text()


def test_a_judge_never_measured_is_never_the_fallback_nor_the_requested_primary(tmp_path):
    files = write_report(_free_text_rows(), tmp_path / "r", "s", "mix.target_ratio", "judge", 0.95, META)
    assert files.summary["primary_scorer"] == "chrf"
    assert "judge (sweep.primary_scorer) is a judge the trust gate refuses" in files.summary["primary_reason"]
    assert "never measured" in files.markdown.read_text()


# --- meta-eval records and prints the same figure -----------------------------------------------


def test_meta_eval_human_measures_the_recipes_judge_over_http_and_caches_it(tmp_path, isolated_cache, capsys):
    file = human_set(tmp_path / "human.json", n=20)
    with JudgeServer() as server:  # answers "tie" to these pairs (it prefers neither): agreement 0.50
        recipe = tmp_path / "judge.yaml"
        recipe.write_text(f"eval: {{judge: {{backend: openai, base_url: '{server.url}', model: judge-model, "
                          "verdict: text}}\n")
        rc = iftkit_main(["meta-eval", "--human", str(file), "--scorers", "judge_pairwise", "--config", str(recipe),
                          "--out", str(tmp_path / "m"), "--resamples", "50", "--no-wandb"])
        assert rc == 0 and server.requests == 40
    printed = capsys.readouterr().out
    assert "judge trust: openai:judge-model at http://127.0.0.1:" in printed
    assert "agrees with humans 0.50 [0.50, 0.50] over 20 pairs of" in printed and "includes chance" in printed
    assert "## Judge trust" in (tmp_path / "m" / "meta_eval.md").read_text()
    from iftkit.config import load_recipe

    cached = judge_trust.cached(load_recipe(recipe))
    assert cached.agreement["value"] == 0.5 and not cached.trusted and cached.human_file == str(file)


def test_a_recipe_trust_set_is_measured_once_when_the_report_needs_it(tmp_path, isolated_cache):
    file = human_set(tmp_path / "human.json", n=10)
    with JudgeServer() as server:
        recipe = openai_recipe(url=server.url)
        recipe.eval.judge.trust_set = str(file)
        first = judge_trust.judge_trust(recipe, {"chrf", "judge"}, log=lambda *_: None)
        assert first.agreement["value"] == 0.5 and server.requests == 20
        again = judge_trust.judge_trust(recipe, {"judge"}, log=lambda *_: None)
        assert again.agreement == first.agreement and server.requests == 20  # cached per judge identity
    assert judge_trust.judge_trust(recipe, {"chrf"}) is None  # no judge scored: nothing to gate


@pytest.mark.skipif(not LLMBAR.is_file(), reason="../shared/data/llmbar/LLMBar_Natural.json not present")
def test_on_llmbar_natural_preferring_the_longer_answer_does_not_clear_the_gate(tmp_path, isolated_cache):
    from iftkit.meta.pairwise import prefer_longer

    got = judge_trust.measure(openai_recipe(), LLMBAR, judge=prefer_longer, resamples=500, log=lambda *_: None)
    assert got.pairs == 100 and 0.5 < got.agreement["value"] < 0.6 and not got.trusted
