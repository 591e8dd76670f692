"""Scorer meta-evaluation (CIT/CAT/TFA) and learning dynamics; same flags as `iftkit meta-eval`.

Run: python eval/meta.py --results RUN_DIR [--human FILE] [--out DIR] [--dynamics [PATH]]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iftkit.commands import meta_eval  # noqa: E402
from iftkit.errors import IftkitError  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="eval/meta.py", description=__doc__.splitlines()[0])
    meta_eval.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return meta_eval.run(args)
    except IftkitError as exc:
        print(f"eval/meta.py: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
