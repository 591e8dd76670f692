"""`iftkit recipe check --config R [--dotted.key value ...]`: validate and print resolved.

A recipe with its own target task (data.target_files) also gets the task's spec checked, as a sweep
checks it before training (sweep/preflight.py)."""

import yaml

from iftkit.config import load_recipe, recipe_hash

ACCEPTS_OVERRIDES = True


def add_arguments(p):
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("check", help="validate a recipe (with overrides) and print it resolved")
    c.add_argument("--config", required=True)


def run(args) -> int:
    from iftkit.models.chat.factory import check_backends
    from iftkit.models.resolve import check_local_model
    from iftkit.sweep.preflight import check_target

    recipe = load_recipe(args.config, args.overrides)
    check_local_model(recipe.model.id)
    check_backends(recipe)  # backend names live in the backend registry, above the recipe schema
    said = []
    check_target(recipe, said.append)  # the user task's spec: how it will be checked, or why nothing could be
    print(f"# {args.config} — valid (hash {recipe_hash(recipe)})")
    for line in said:
        print(f"# {line}")  # comments: the output stays a YAML document
    print(yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False), end="")
    return 0
