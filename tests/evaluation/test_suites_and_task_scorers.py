"""Suites from a real mix (Data's build_mix) and the catalog's task scorers through the registry."""

import pytest

from iftkit.config.loader import validate
from iftkit.errors import IftkitError
from iftkit.evaluation.scorers import Sample, get_scorer
from iftkit.evaluation.suites import build_suites, load_instruction_set, resolve_mix_dir
from iftkit.evaluation.scorers.ifeval import check_constraints

CATEGORIES = {"classify", "code", "context_answer", "create", "extract", "logic", "memory_answer", "rewrite", "summarize",
              "translate", "write"}


def test_instruction_set_is_large_varied_and_self_consistent():
    rows = load_instruction_set()
    assert len(rows) >= 60 and {r.category for r in rows} == CATEGORIES
    assert len({r.content_hash() for r in rows}) == len(rows)
    with_constraints = [r for r in rows if r.meta.get("constraints")]
    assert len(with_constraints) >= 10
    for r in with_constraints:  # every reference answer meets its own prompt's constraints
        assert all(check_constraints(r.completion, r.meta["constraints"]).values()), r.completion


def test_suites_from_a_built_mix(tmp_path):
    recipe = validate({"data": {"target_task": "sentiment", "general_tasks": ["arithmetic", "topic"], "samples_per_task": 40},
                       "mix": {"target_ratio": 0.5, "total_size": 30, "val_size": 4, "test_size_per_task": 6},
                       "eval": {"general_samples_per_task": 2, "instruction_samples_per_category": 1, "in_domain_samples": 5}})
    mix = resolve_mix_dir(recipe, [], tmp_path)
    suites = build_suites(recipe, mix)
    assert [r.task for r in suites["in_domain"]] == ["sentiment"] * 5
    general = suites["general"]
    catalog = [r for r in general if not r.task.startswith("instruct_")]
    assert sorted(r.task for r in catalog) == ["arithmetic", "arithmetic", "topic", "topic"]
    assert {r.category for r in general if r.task.startswith("instruct_")} == CATEGORIES
    bad = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"suites": ["in_domain", "nope"]})})
    with pytest.raises(IftkitError, match="unknown suite"):
        build_suites(bad, mix)


def test_task_scorers_use_the_catalog(tmp_path):
    from iftkit.data.tasks import get_task

    row = get_task("sentiment").generate(1, seed=3)[0]
    label = row.completion

    def s(pred):
        return Sample(row.prompt, pred, row.completion, row.gold, "sentiment", "classify")

    samples = [s(label), s(f"The review is {label}."), s("banana"), Sample([], "x", "y", None, "instruct_write", "write")]
    strict = get_scorer("task_strict").score(samples)
    tolerant = get_scorer("task_tolerant").score(samples)
    fmt = get_scorer("task_format").score(samples)
    assert strict[0] == 1.0 and strict[2] == 0.0 and strict[3] is None
    assert tolerant[1] == 1.0 and tolerant[3] is None
    assert fmt[0] == 1.0 and fmt[1] == 0.0 and fmt[3] is None


def test_code_task_prediction_is_parsed_not_run(tmp_path):
    from iftkit.data.tasks import get_task

    row = get_task("code_output").generate(1, seed=0)[0]
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    got = get_scorer("task_tolerant").score([Sample(row.prompt, evil, row.completion, row.gold, "code_output", "code")])
    assert got == [0.0] and not marker.exists()
