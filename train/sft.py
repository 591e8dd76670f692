"""Train one LoRA/QLoRA adapter from a recipe.

    accelerate launch train/sft.py --config recipes/quickstart.yaml [--section.key value ...]
                                   [--output_dir DIR] [--mix-dir DIR] [--overwrite]
    python train/sft.py --config recipes/quickstart.yaml

Builds the recipe's mix (or trains on --mix-dir), trains with TRL's SFTTrainer + PEFT, and
writes the adapter, its card and a W&B run. Rerun the same command after a crash to resume.
"""

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from iftkit.config import load_recipe  # noqa: E402
from iftkit.errors import IftkitError  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="train/sft.py", description=__doc__.split("\n\n")[0],
                                epilog="Any --section.key VALUE pair overrides the recipe, e.g. --training.max_steps 10 --mix.target_count 100.")
    p.add_argument("--config", required=True, help="recipe YAML")
    p.add_argument("--output_dir", "--output-dir", dest="output_dir", help="adapter dir (default: training.output_dir or runs/<name>/adapter)")
    p.add_argument("--mix-dir", "--mix_dir", dest="mix_dir", help="train on this built mix instead of building one")
    p.add_argument("--overwrite", action="store_true", help="retrain even if a complete adapter exists")
    return p.parse_known_args(argv)


def main(argv=None) -> int:
    args, overrides = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        from iftkit.training.run import train_adapter

        recipe = load_recipe(args.config, overrides)
        train_adapter(recipe, output_dir=args.output_dir, mix_dir=args.mix_dir, overwrite=args.overwrite,
                      say=lambda msg: print(f"[iftkit] {msg}", flush=True))
    except IftkitError as exc:
        print(f"train/sft.py: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
