"""The real local judge (SmolLM2, a weak judge) on two LLMBar pairs: the whole pairwise path, with
probability verdicts."""

import pytest

from iftkit.config.schema import Recipe
from iftkit.meta.meta_eval import MetaEvalOptions, run_meta_eval
from iftkit.meta.scorer_access import registry_factory

from .test_human import LLMBAR


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(not LLMBAR.is_file(), reason="../shared/data/llmbar/LLMBar_Natural.json not present")
def test_local_pairwise_judge_on_llmbar_pairs(tmp_path, smollm2_dir):
    recipe = Recipe()
    recipe.eval.cache_dir = str(tmp_path / "judge-cache")
    factory = registry_factory(recipe)
    p = run_meta_eval(
        None,
        human_file=LLMBAR,
        out=tmp_path / "out",
        opts=MetaEvalOptions(
            factory=factory, scorers=["judge_pairwise"], max_pairs=2, resamples=50, log=lambda *_: None
        ),
    )
    s = p["pairwise"]["judge_pairwise"]
    assert s["pairs"] == 2
    assert factory.counters.judge.new == 4  # both orders of both pairs, nothing from an old cache
    # probability verdicts: the weak judge still answers every comparison with A, B or tie
    assert s["parse_failure_rate"] == 0.0 and s["verdicts"] == {"scored": 4, "unparseable": 0}
    assert factory.judge_client().tally.by_probs == 4
    assert (tmp_path / "out" / "meta_eval.html").is_file()
