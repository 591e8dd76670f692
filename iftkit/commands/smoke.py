"""`iftkit smoke --config R`: resolve the base model and print one generation."""

import time

from iftkit.config import load_recipe

ACCEPTS_OVERRIDES = True

DEFAULT_PROMPT = "Is this review positive or negative? 'The battery died after two days.' Answer in one word."


def add_arguments(p):
    p.add_argument("--config", required=True, help="recipe YAML")
    p.add_argument("--prompt", default=DEFAULT_PROMPT)
    p.add_argument("--max-new-tokens", type=int, default=24)


def run(args) -> int:
    # imported when the command runs, not when the CLI starts
    from iftkit.evaluation.degenerate import warning_line
    from iftkit.models.chat.backend import LocalModel
    from iftkit.models.chat.factory import DEFAULT_LOCAL_ENGINE, eval_backend
    from iftkit.models.chat.types import GenConfig
    from iftkit.models.resolve import resolve_model

    recipe = load_recipe(args.config, args.overrides)
    start = time.time()
    # transformers whatever eval.backend says: the smoke check runs on any machine (vLLM needs a GPU)
    path = resolve_model(recipe.model.id, recipe.model.revision)
    chat = eval_backend(DEFAULT_LOCAL_ENGINE, LocalModel(recipe.model, path))
    chat.load()
    [reply] = chat.complete_many(
        [[{"role": "user", "content": args.prompt}]], GenConfig(max_new_tokens=args.max_new_tokens)
    )
    answer = reply.text
    print(f"model: {recipe.model.id} (loaded in {time.time() - start:.1f} s)")
    print(f"prompt: {args.prompt}")
    print(f"generation: {answer}")
    warning = warning_line(recipe.model.id, [answer])
    if warning:
        print(warning)
    return 0
