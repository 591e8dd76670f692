"""The `iftkit` console script: one subcommand per stage, each in iftkit/commands/.

Each command module exposes `add_arguments(parser)` and `run(args) -> int`; modules are
imported only when their command runs, so `iftkit --help` stays fast.
"""

import argparse
import importlib
import sys
from typing import Callable, Optional

from iftkit.core.errors import IftkitError

# name -> (module under iftkit.commands, one-line help)
COMMANDS = {
    "smoke": ("smoke", "load the recipe's base model and print one generation"),
    "model": ("model", "resolve / convert the base model (offline default included)"),
    "recipe": ("recipe", "validate a recipe and print it fully resolved"),
    "train": ("train", "train one LoRA/QLoRA adapter from a recipe (also train/sft.py)"),
    "data": ("data", "build, show and synthesise training data and mixes"),
    "adapter": ("adapter", "inspect and merge trained LoRA adapters"),
    "eval": ("eval", "score the base model and adapters on in-domain and general suites"),
    "sweep": ("sweep", "run a grid of mixes x seeds: train, evaluate, chart, report"),
    "pipeline": ("pipeline", "one recipe through every stage of a sweep cell: mix, train, eval, score, report"),
    "meta-eval": ("meta_eval", "measure how far each scorer can be trusted (CIT/CAT/TFA)"),
}


def build_parser(only: str = None, prog: str = "iftkit") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Specialise instruction-tuned LLMs and measure the cost.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if only in (None, name):
            importlib.import_module(f"iftkit.commands.{module}").add_arguments(p)
    return parser


def main(argv=None, prog: str = "iftkit") -> int:
    """Run one command; errors print one line prefixed with `prog`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # import just the module of the command being run (help for all lists names only)
    only = next((a for a in argv if not a.startswith("-")), "")
    try:  # building the parser already asks the registries (help lists layouts), which may find a broken plugin
        parser = build_parser(only=only if only in COMMANDS else "", prog=prog)
        args, extra = parser.parse_known_args(argv)
        module = importlib.import_module(f"iftkit.commands.{args._module}")
        if extra and not getattr(module, "ACCEPTS_OVERRIDES", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = extra
        return int(module.run(args) or 0)
    except (IftkitError, KeyboardInterrupt) as exc:
        return exit_code(prog, exc)


def command_args(command: str, argv=None, prog: Optional[str] = None, description: Optional[str] = None):
    """A script's arguments, parsed exactly as `iftkit COMMAND` parses them (`--section.key value` overrides
    land in `args.overrides`), so train/sft.py and `iftkit train` take the same flags."""
    module_name, help_text = COMMANDS[command]
    module = importlib.import_module(f"iftkit.commands.{module_name}")
    parser = argparse.ArgumentParser(prog=prog, description=description or help_text)
    module.add_arguments(parser)
    args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    if extra and not getattr(module, "ACCEPTS_OVERRIDES", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.overrides = extra
    return args


def run_guarded(prog: str, fn: Callable, *args) -> int:
    """fn(*args) as an exit code: a user error is one line on stderr (its own code), Ctrl-C is 130."""
    try:
        return int(fn(*args) or 0)
    except (IftkitError, KeyboardInterrupt) as exc:
        return exit_code(prog, exc)


def exit_code(prog: str, exc: BaseException) -> int:
    if isinstance(exc, KeyboardInterrupt):
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
