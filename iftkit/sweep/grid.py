"""Expand a recipe's `sweep:` section into cells: one fully resolved recipe per grid point.

A cell's identity is two hashes: what its adapter depends on (model, lora, data, mix,
training) and what its evaluation depends on (that plus eval). Changing an eval setting
re-evaluates cells without retraining them; changing a mix setting retrains only the cells
whose resolved recipe changed.
"""

import hashlib
import itertools
import json
from dataclasses import dataclass, field

from iftkit.config.keys import short_name
from iftkit.config.loader import _merge, parse_overrides, validate
from iftkit.config.schema import Recipe

TRAIN_SECTIONS = ("model", "lora", "data", "mix", "training")

# short names for labels and chart axes
@dataclass
class Cell:
    label: str
    values: dict  # grid key -> value for this cell
    seed: int
    recipe: Recipe
    train_hash: str
    eval_hash: str
    overrides: list = field(default_factory=list)  # dotted CLI form, for emitted scripts

    @property
    def dirname(self) -> str:
        return f"{self.label}__{self.train_hash[:8]}"


def _hash(recipe: Recipe, sections) -> str:
    dumped = recipe.model_dump(mode="json")
    blob = json.dumps({k: dumped[k] for k in sections}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _fmt(value) -> str:
    text = str(value).rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c in ".-_" else "-" for c in text)


def expand(recipe: Recipe, source: str = "recipe") -> list[Cell]:
    sweep = recipe.sweep
    keys = list(sweep.grid)
    base = recipe.model_dump(mode="json")
    cells = []
    for combo in itertools.product(*(sweep.grid[k] for k in keys)):
        for seed in sweep.seeds:
            args = []
            for key, value in zip(keys, combo):
                args += [f"--{key}", json.dumps(value) if not isinstance(value, str) else value]
            args += ["--training.seed", str(seed), "--mix.seed", str(seed)]
            data = _merge(base, parse_overrides(args))
            cell_recipe = validate(data, source=f"{source} (sweep cell {dict(zip(keys, combo))}, seed {seed})")
            steps = cell_recipe.sweep.checkpoint_steps(cell_recipe.training.max_steps)
            if steps:  # the cell's training keeps them: part of what its adapter dir holds, so of its hash
                cell_recipe.training.keep_steps = steps
                args += ["--training.keep_steps", json.dumps(steps)]
            label = "-".join(f"{short_name(k)}={_fmt(v)}" for k, v in zip(keys, combo)) or "cell"
            label += f"-seed={seed}"
            cells.append(
                Cell(
                    label=label,
                    values=dict(zip(keys, combo)),
                    seed=seed,
                    recipe=cell_recipe,
                    train_hash=_hash(cell_recipe, TRAIN_SECTIONS),
                    eval_hash=_hash(cell_recipe, TRAIN_SECTIONS + ("eval",)),
                    overrides=args,
                )
            )
    return cells


def base_eval_hash(recipe: Recipe) -> str:
    """The base-model reference point depends on the model, the test data and eval only."""
    return _hash(recipe, ("model", "data", "eval"))
