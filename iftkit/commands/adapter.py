"""`iftkit adapter show ADAPTER` and `iftkit adapter merge ADAPTER --out DIR`."""

import json


def add_arguments(p):
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    show = sub.add_parser("show", help="print an adapter's card")
    show.add_argument("adapter", help="adapter directory")
    merge = sub.add_parser("merge", help="merge an adapter into its base model (full weights)")
    merge.add_argument("adapter", help="adapter directory")
    merge.add_argument("--out", required=True, help="output directory for the merged model")
    merge.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])


def run(args) -> int:
    from iftkit.core.errors import IftkitError
    from iftkit.training.card import read_card

    if args.action == "show":
        card = read_card(args.adapter)
        if card is None:
            raise IftkitError(f"{args.adapter}: no adapter_card.json (not an iftkit adapter, or training not finished)")
        print(json.dumps(card, indent=2, sort_keys=True))
        return 0
    from iftkit.training.merge import merge_adapter

    out = merge_adapter(args.adapter, args.out, dtype=args.dtype)
    print(f"merged model written: {out}")
    return 0
