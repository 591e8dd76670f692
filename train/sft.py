"""Train one LoRA/QLoRA adapter from a recipe (= `iftkit train`, same flags).

    accelerate launch train/sft.py --config recipes/quickstart.yaml [--section.key value ...]
                                   [--output_dir DIR] [--mix-dir DIR] [--overwrite]
    python train/sft.py --config recipes/quickstart.yaml
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from iftkit.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]], prog="train/sft.py"))
