"""`iftkit train --config R [--output_dir DIR] [--mix-dir DIR] [--overwrite] [--section.key value ...]`.

Also `train/sft.py` (the same steps spelled out) and `accelerate launch -m iftkit train`: builds the
recipe's mix (or trains on --mix-dir), trains LoRA/QLoRA with TRL's SFTTrainer + PEFT, and writes the
adapter, its card and a W&B run. Rerun the same command after a crash to resume.
"""

import logging

ACCEPTS_OVERRIDES = True


def add_arguments(p):
    p.epilog = "Any --section.key VALUE pair overrides the recipe, e.g. --training.max_steps 10 --mix.target_count 100."
    p.add_argument("--config", required=True, help="recipe YAML")
    p.add_argument("--output_dir", "--output-dir", dest="output_dir",
                   help="adapter dir (default: training.output_dir or runs/<name>/adapter)")
    p.add_argument("--mix-dir", "--mix_dir", dest="mix_dir", help="train on this built mix instead of building one")
    p.add_argument("--overwrite", action="store_true", help="retrain even if a complete adapter exists")


def say(msg: str) -> None:
    """Progress lines of a training run, as both entry points print them."""
    print(f"[iftkit] {msg}", flush=True)


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")


def run(args) -> int:
    from iftkit.config import load_recipe
    from iftkit.training.train_adapter import train_adapter

    setup_logging()
    recipe = load_recipe(args.config, args.overrides)
    train_adapter(recipe, output_dir=args.output_dir, mix_dir=args.mix_dir, overwrite=args.overwrite, say=say)
    return 0
