"""Scorers: registry, lexical, IFEval checks, embedding, reward model, and untrusted output."""

import pytest

from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.evaluation.scorers import (
    EXACT_FORMAT,
    REFERENCE_BASED,
    STRICT_ANSWER,
    TASK_ANSWER,
    TASK_CHECKER,
    SampleRecord,
    expand,
    get_scorer,
    is_judge,
    list_scorers,
    playing,
    plays,
    requested_by,
)


def S(pred, ref, **kw):
    return SampleRecord(prompt=[{"role": "user", "content": kw.pop("q", "Question?")}], prediction=pred, reference=ref,
                        **kw)


def test_registry_names_aliases_and_unknown():
    assert {
        "task_strict",
        "task_tolerant",
        "exact_match",
        "rouge1",
        "rouge2",
        "rougeL",
        "bleu",
        "chrf",
        "embedding",
        "reward",
        "judge",
        "judge_pairwise",
        "ifeval",
    } <= set(list_scorers())
    assert expand(["rouge", "exact_match", "rouge1"]) == ["rouge1", "rouge2", "rougeL", "exact_match"]
    with pytest.raises(IftkitError, match="unknown scorer 'bluee'"):
        expand(["bluee"])
    s = get_scorer("bleu")
    assert s.name == "bleu" and s.higher_is_better and s.scale == (0.0, 100.0)


def test_roles_name_the_scorers_other_stages_look_for():
    # the report's fallback primary scorers, in the order it tries them
    assert playing(REFERENCE_BASED) == ["judge", "embedding", "chrf", "rougeL", "rouge1", "bleu", "exact_match"]
    assert playing(TASK_ANSWER) == ["task_tolerant"] and playing(STRICT_ANSWER) == ["task_strict"]
    assert playing(EXACT_FORMAT) == ["task_format"]
    assert plays("task_items_f1", TASK_CHECKER) and not plays("rougeL", TASK_CHECKER)
    assert not plays("no_such_scorer", TASK_CHECKER)
    assert {o for o in ("judge", "judge_ratio", "judge_reference", "judge_pairwise") if is_judge(o)} == {
        "judge", "judge_ratio", "judge_reference", "judge_pairwise"}
    assert not any(is_judge(o) for o in ("exact_match", "task_items_f1", "embedding"))


def test_a_recipe_switch_adds_its_scorer():
    recipe = Recipe()
    assert requested_by(recipe) == []
    recipe.eval.judge.pairwise = True
    assert requested_by(recipe) == ["judge_pairwise"]


def test_lexical_scorers():
    samples = [S("The answer is Paris.", "the answer is paris"), S("Berlin", "Paris")]
    assert get_scorer("exact_match").score(samples) == [1.0, 0.0]
    r1 = get_scorer("rouge1").score(samples)
    assert r1[0] == pytest.approx(1.0) and r1[1] == 0.0
    assert get_scorer("rougeL").score([S("a b c d", "a b x d")])[0] == pytest.approx(0.75)
    bleu = get_scorer("bleu").score(
        [S("the cat sat on the mat", "the cat sat on the mat"), S("dog", "the cat sat on the mat")]
    )
    assert bleu[0] == pytest.approx(100.0) and bleu[1] < 10
    chrf = get_scorer("chrf").score([S("colour", "color"), S("xyz", "color")])
    assert chrf[0] > chrf[1]
    assert get_scorer("exact_match").aggregate([1.0, 0.0, None]) == 0.5


def test_ifeval_prompt_and_instruction_level():
    pytest.importorskip("lm_eval")
    s = get_scorer("ifeval")
    two = {
        "instruction_id_list": ["length_constraints:number_words", "change_case:english_lowercase"],
        "kwargs": [{"relation": "less than", "num_words": 3}, {}],
    }
    two["kwargs"][0]["num_words"] = 12
    res = s.score_detailed(
        [
            S("the cat sat on the warm mat all day", "", meta=two),
            S("The cat sat on the warm mat all day", "", meta=two),
            S("x", ""),
        ]
    )
    assert res.values["ifeval_prompt_strict"] == [1.0, 0.0, None]
    assert res.values["ifeval_inst_strict"] == [1.0, 0.5, None]


def test_malicious_prediction_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"```python\nimport os; os.system('touch {marker}')\n```",
        f'{{"a": __import__("os").system("touch {marker}")}}',
    ]
    meta = {
        "instruction_id_list": ["detectable_format:json_format", "length_constraints:number_words"],
        "kwargs": [{}, {"relation": "less than", "num_words": 6}],
    }
    samples = [S(p, "def add(a, b):\n    return a + b", meta=meta, task="instruct_code") for p in payloads]
    for name in ["exact_match", "rouge1", "rouge2", "rougeL", "bleu", "chrf", "task_strict", "task_tolerant"]:
        values = get_scorer(name).score(samples)
        assert len(values) == len(samples)
    got = get_scorer("ifeval").score_detailed(samples).values["ifeval_prompt_strict"]
    assert got == [0.0, 0.0, 0.0]  # not JSON, and too long
    assert not marker.exists()


def test_embedding_similarity_offline_default():
    s = get_scorer("embedding")
    close, far = s.score(
        [
            S("The cat is sleeping on the sofa.", "A cat naps on the couch."),
            S("Quarterly revenue grew by ten percent.", "A cat naps on the couch."),
        ]
    )
    assert s.scale == (-1.0, 1.0) and close > far and close > 0.5


@pytest.fixture(scope="module")
def tiny_reward_model(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from iftkit.testing.tiny import make_tokenizer

    tok = make_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
    )
    path = tmp_path_factory.mktemp("reward")
    LlamaForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_reward_model_normalised_against_reference(tiny_reward_model):
    s = get_scorer("reward", model=str(tiny_reward_model))
    values = s.score([S("positive", "positive"), S("The quick brown fox", "negative"), S("What is 12 plus 7?", "19")])
    assert values[0] == pytest.approx(0.5)  # same text as the reference: even odds
    assert all(0.0 < v < 1.0 for v in values) and len(set(round(v, 6) for v in values[1:])) == 2


def test_reward_model_needs_a_path():
    with pytest.raises(IftkitError, match="eval.reward_model"):
        get_scorer("reward")
