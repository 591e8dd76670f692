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

import yaml

from iftkit.config.keys import short_name
from iftkit.config.loader import merge, validate
from iftkit.config.schema import Recipe

TRAIN_SECTIONS = ("model", "lora", "data", "mix", "training")


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
            values = {**dict(zip(keys, combo)), "training.seed": seed, "mix.seed": seed}
            cell_recipe = validate(merge(base, _nested(values)),
                                   source=f"{source} (sweep cell {dict(zip(keys, combo))}, seed {seed})")
            steps = cell_recipe.sweep.checkpoint_steps(cell_recipe.training.max_steps)
            if steps:  # the cell's training keeps them: part of what its adapter dir holds, so of its hash
                cell_recipe.training.keep_steps = steps
                values["training.keep_steps"] = steps
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
                    overrides=cli_overrides(values),
                )
            )
    return cells


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
    return _hash(recipe, ("model", "data", "eval"))
