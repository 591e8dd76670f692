import pytest

from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.sweep.grid import expand


def recipe(tmp_path, text):
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return load_recipe(p)


GRID = "name: g\nmix: {target_ratio: 0.5}\nsweep:\n  grid: {mix.target_count: [0, 10, 100]}\n  seeds: [0, 1]\n"


def test_grid_expands_values_times_seeds(tmp_path):
    cells = expand(recipe(tmp_path, GRID))
    assert [c.label for c in cells][:3] == ["n=0-seed=0", "n=0-seed=1", "n=10-seed=0"]
    assert len(cells) == 6
    c = cells[3]
    assert c.recipe.mix.target_count == 10 and c.recipe.mix.target_ratio is None
    assert c.recipe.training.seed == 1 and c.recipe.mix.seed == 1
    assert len({x.train_hash for x in cells}) == 6


def test_eval_change_keeps_train_hash_but_changes_eval_hash(tmp_path):
    a = expand(recipe(tmp_path, GRID))
    b = expand(recipe(tmp_path, GRID + "eval: {max_new_tokens: 7}\n"))
    assert [x.train_hash for x in a] == [x.train_hash for x in b]
    assert all(x.eval_hash != y.eval_hash for x, y in zip(a, b))


def test_mix_change_invalidates_only_affected_cells(tmp_path):
    a = expand(recipe(tmp_path, GRID))
    b = expand(recipe(tmp_path, GRID.replace("[0, 10, 100]", "[0, 10, 200]")))
    same = [x.label for x, y in zip(a, b) if x.train_hash == y.train_hash]
    assert same == ["n=0-seed=0", "n=0-seed=1", "n=10-seed=0", "n=10-seed=1"]


def test_bad_grid_value_names_the_cell(tmp_path):
    with pytest.raises(IftkitError, match=r"sweep cell .*'mix.target_ratio': 1.5.*less than or equal to 1"):
        expand(recipe(tmp_path, "sweep:\n  grid: {mix.target_ratio: [0.5, 1.5]}\n"))


def test_grid_key_must_be_dotted(tmp_path):
    with pytest.raises(IftkitError, match="must be a dotted recipe key"):
        recipe(tmp_path, "sweep:\n  grid: {ratio: [0.5]}\n")


def test_grid_values_reach_the_cell_as_values_and_its_cli_overrides_parse_back_to_them(tmp_path):
    """A grid value is merged as the value it is (a quoted "1.0" stays text), and the dotted overrides handed
    to a launched training or an emitted job rebuild exactly the cell's recipe."""
    from iftkit.config import parse_overrides
    from iftkit.config.loader import merge, validate

    base = recipe(tmp_path, 'name: g\nsweep:\n  grid: {model.revision: ["1.0", main, "null"], '
                            "training.learning_rate: [1e-5, 0.001]}\n  seeds: [3]\n")
    cells = expand(base)
    assert [c.recipe.model.revision for c in cells[::2]] == ["1.0", "main", "null"]
    assert cells[0].recipe.training.learning_rate == 1e-5 and cells[0].recipe.mix.seed == 3
    for c in cells:
        rebuilt = validate(merge(base.model_dump(mode="json"), parse_overrides(c.overrides)))
        assert rebuilt == c.recipe, c.overrides
    assert cells[2].overrides[:2] == ["--model.revision", "main"]
