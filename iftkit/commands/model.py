"""`iftkit model fetch [--id ID]`: resolve a model now (converting the offline default once)."""

from iftkit import DEFAULT_MODEL_ID


def add_arguments(p):
    sub = p.add_subparsers(dest="action", required=True)
    f = sub.add_parser("fetch", help="resolve the model id to a loadable local path and print it")
    f.add_argument("--id", default=DEFAULT_MODEL_ID)
    f.add_argument("--revision", default=None)


def run(args) -> int:
    from iftkit.models.resolve import resolve_model

    print(resolve_model(args.id, args.revision))
    return 0
