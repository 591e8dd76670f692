"""Expand a recipe's `sweep:` section into cells: one fully resolved recipe per grid point.

A cell's identity is two hashes (config/identity.py): what its adapter depends on (model, lora,
data, mix, training) and what its evaluation depends on (that plus eval), each over the values that
differ from the defaults. Changing an eval setting re-evaluates cells without retraining them;
changing a mix setting retrains only the cells whose resolved recipe changed; an upgrade that adds
a key with a default changes nothing.
"""

import itertools
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import yaml

from iftkit.config import identity as ids
from iftkit.config.keys import short_name
from iftkit.config.loader import merge, validate
from iftkit.config.schema import Recipe


@dataclass
class Cell:
    label: str
    values: dict  # grid key -> value for this cell
    seed: int
    recipe: Recipe
    train_hash: str
    eval_hash: str
    overrides: list = field(default_factory=list)  # dotted CLI form, for emitted scripts
    # a cell `iftkit sweep decide` added beyond the grid: {"round": n, "why": words} (sweep/added.py); None: planned
    added: Optional[dict] = None

    @property
    def dirname(self) -> str:
        return f"{self.label}__{self.train_hash[:8]}"

    @property
    def legacy_dirname(self) -> str:
        """Where a version-0 sweep put this cell."""
        return f"{self.label}__{self.legacy_train_hash[:8]}"

    @property
    def train_identity(self) -> dict:
        return ids.identity(self.recipe, ids.TRAIN_SECTIONS)

    @property
    def eval_identity(self) -> dict:
        return ids.identity(self.recipe, ids.EVAL_SECTIONS)

    @cached_property
    def legacy_train_hash(self) -> str:
        return ids.legacy_hash(self.recipe, ids.TRAIN_SECTIONS)

    @cached_property
    def legacy_eval_hash(self) -> str:
        return ids.legacy_hash(self.recipe, ids.EVAL_SECTIONS)

    @property
    def train_hashes(self) -> tuple[str, str]:
        """The hashes a finished training of this cell may be recorded under: this version's, version 0's."""
        return self.train_hash, self.legacy_train_hash

    @property
    def eval_hashes(self) -> tuple[str, str]:
        return self.eval_hash, self.legacy_eval_hash


def _fmt(value) -> str:
    text = str(value).rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c in ".-_" else "-" for c in text)


def expand(recipe: Recipe, source: str = "recipe") -> list[Cell]:
    sweep = recipe.sweep
    keys = list(sweep.grid)
    base = recipe.model_dump(mode="json")
    return [plan_cell(base, dict(zip(keys, combo)), seed, source)
            for combo in itertools.product(*(sweep.grid[k] for k in keys)) for seed in sweep.seeds]


def plan_cell(base: dict, grid_values: dict, seed: int, source: str = "recipe") -> Cell:
    """One cell: the recipe `base` (a dump) at these grid values, trained and mixed with `seed`; its label,
    hashes and the overrides another process needs to rebuild it. The sweep and `iftkit pipeline` both
    plan their cells here."""
    values = {**grid_values, "training.seed": seed, "mix.seed": seed}
    cell_recipe = validate(merge(base, _nested(values)), source=f"{source} (sweep cell {grid_values}, seed {seed})")
    steps = cell_recipe.sweep.checkpoint_steps(cell_recipe.training.max_steps)
    if steps:  # the cell's training keeps them: part of what its adapter dir holds, so of its hash
        cell_recipe.training.keep_steps = steps
        values["training.keep_steps"] = steps
    label = "-".join(f"{short_name(k)}={_fmt(v)}" for k, v in grid_values.items()) or "cell"
    return Cell(
        label=f"{label}-seed={seed}",
        values=dict(grid_values),
        seed=seed,
        recipe=cell_recipe,
        train_hash=ids.recipe_identity_hash(cell_recipe, ids.TRAIN_SECTIONS),
        eval_hash=ids.recipe_identity_hash(cell_recipe, ids.EVAL_SECTIONS),
        overrides=cli_overrides(values),
    )


def _nested(values: dict) -> dict:
    """{'mix.target_ratio': 0.5} -> {'mix': {'target_ratio': 0.5}}."""
    out: dict = {}
    for key, value in values.items():
        *sections, name = key.split(".")
        node = out
        for s in sections:
            node = node.setdefault(s, {})
        node[name] = value
    return out


def cli_overrides(values: dict) -> list[str]:
    """Dotted `--key value` arguments that another process (a launched training, an emitted job) parses back
    to these values: strings as they are unless YAML would read them as something else, the rest as JSON."""
    args = []
    for key, value in values.items():
        plain = isinstance(value, str) and (value == "" or _yaml_reads_as_itself(value))
        args += [f"--{key}", value if plain else json.dumps(value)]
    return args


def _yaml_reads_as_itself(text: str) -> bool:
    try:
        return yaml.safe_load(text) == text
    except yaml.YAMLError:
        return False


def base_eval_hash(recipe: Recipe) -> str:
    """The base-model reference point depends on the model, the test data and eval only."""
    return ids.recipe_identity_hash(recipe, ids.BASE_EVAL_SECTIONS)


def legacy_base_eval_hash(recipe: Recipe) -> str:
    return ids.legacy_hash(recipe, ids.BASE_EVAL_SECTIONS)
