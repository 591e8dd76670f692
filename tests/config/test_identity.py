"""Recipe identities (config/identity.py): hashes that an upgrade adding a key leaves alone."""

import json
from pathlib import Path

import pytest
from pydantic import Field

from iftkit.config import identity as ids
from iftkit.config import load_recipe
from iftkit.config.schema import Recipe, TrainingConfig
from iftkit.sweep.grid import expand, legacy_base_eval_hash

ROOT = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("schema_defaults.json")


class _TrainingWithANewKey(TrainingConfig):
    new_knob: int = Field(3, gt=0)


class _NextRelease(Recipe):
    """The schema of a release that adds one training key with a default."""

    training: _TrainingWithANewKey = Field(default_factory=_TrainingWithANewKey)


def test_a_release_adding_a_key_with_a_default_changes_no_hash():
    recipe = load_recipe(ROOT / "recipes/sweeps/quickstart.yaml")
    upgraded = _NextRelease.model_validate(recipe.model_dump(mode="json"))
    for sections in (ids.TRAIN_SECTIONS, ids.EVAL_SECTIONS, ids.BASE_EVAL_SECTIONS):
        assert ids.recipe_identity_hash(upgraded, sections) == ids.recipe_identity_hash(recipe, sections)
    # the key set away from its default is part of what the adapter depends on
    upgraded.training.new_knob = 4
    train = ids.TRAIN_SECTIONS
    assert ids.recipe_identity_hash(upgraded, train) != ids.recipe_identity_hash(recipe, train)


def test_a_value_written_out_at_its_default_is_the_same_recipe():
    plain = load_recipe(ROOT / "recipes/sweeps/quickstart.yaml")
    spelled = load_recipe(ROOT / "recipes/sweeps/quickstart.yaml",
                          ["--training.learning_rate", "2e-4", "--model.attn_implementation", "sdpa"])
    assert ids.recipe_identity_hash(plain, ids.EVAL_SECTIONS) == ids.recipe_identity_hash(spelled, ids.EVAL_SECTIONS)


def test_where_outputs_go_is_not_what_the_adapter_depends_on():
    a = load_recipe(ROOT / "recipes/quickstart.yaml")
    b = load_recipe(ROOT / "recipes/quickstart.yaml",
                    ["--training.output_dir", "elsewhere", "--training.logging_steps", "1"])
    assert ids.recipe_identity_hash(a, ids.TRAIN_SECTIONS) == ids.recipe_identity_hash(b, ids.TRAIN_SECTIONS)


def test_a_changed_default_needs_a_schema_version_bump():
    """Recipes that leave a key at its default share a hash across versions: a release that changes what a
    default is must bump SCHEMA_VERSION (each cell is then redone once) and re-pin the defaults."""
    pinned = json.loads(PINNED.read_text())
    now = ids.flat_defaults()
    changed = {k: (v, now[k]) for k, v in pinned["defaults"].items() if k in now and now[k] != v}
    assert pinned["schema_version"] == ids.SCHEMA_VERSION and not changed, (
        f"defaults changed {changed}: bump SCHEMA_VERSION in iftkit/config/identity.py, then re-pin with "
        "python -c 'import json; from iftkit.config import identity as i; json.dump({\"schema_version\": "
        "i.SCHEMA_VERSION, \"defaults\": i.flat_defaults()}, open(\"tests/config/schema_defaults.json\", \"w\"), "
        "indent=1, sort_keys=True)'")


def test_version_0_hashes_are_recomputed_as_that_version_wrote_them():
    """Printed by cd86fc0 (whole-dump hashes) for the quickstart sweep: a sweep it finished is recognised."""
    # the quickstart as cd86fc0 shipped it (it has since pinned its in-domain limit)
    recipe = load_recipe(ROOT / "recipes/sweeps/quickstart.yaml", ["--eval.in_domain_max_new_tokens", "auto"])
    cells = {c.label: c for c in expand(recipe)}
    assert (cells["ratio=0.0-seed=0"].legacy_train_hash, cells["ratio=0.0-seed=0"].legacy_eval_hash) == (
        "8ee336f6e5ec0093", "eb89f72851de29ef")
    assert cells["ratio=0.1-seed=0"].legacy_train_hash == "5262f7a6a11061ca"
    assert legacy_base_eval_hash(recipe) == "3f5f46e41ceb53c9"
    assert cells["ratio=0.0-seed=0"].train_hash != "8ee336f6e5ec0093"


@pytest.mark.parametrize("old,new,expected", [
    ({"model": {}}, {"model": {"attn_implementation": "eager"}},
     'model.attn_implementation: "sdpa" (default) -> "eager"'),
    ({"training": {"max_steps": 8}}, {"training": {"max_steps": 30}}, "training.max_steps: 8 -> 30"),
    ({"eval": {"judge": {"model": "x"}}}, {"eval": {}}, 'eval.judge.model: "x" -> "base" (default)'),
])
def test_differences_name_the_key_and_both_values(old, new, expected):
    assert ids.describe_differences(old, new) == expected
