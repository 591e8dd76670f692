"""Evaluate the base model and adapters: `python eval/run.py --config R --adapters A B --out DIR`.

Same flags as `iftkit eval`, dotted recipe overrides included (--eval.judge.backend openai).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iftkit.commands import eval as eval_command  # noqa: E402
from iftkit.errors import IftkitError  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="eval/run.py", description=__doc__.splitlines()[0])
    eval_command.add_arguments(parser)
    args, args.overrides = parser.parse_known_args(argv)
    try:
        return eval_command.run(args)
    except IftkitError as exc:
        print(f"eval/run.py: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
