"""Short display names of dotted recipe keys (sweep cell labels, report columns, chart labels)."""

_SHORT = {
    "mix.target_ratio": "ratio",
    "mix.target_count": "n",
    "mix.synthetic_format_count": "synthetic",
    "data.target_task": "task",
    "model.id": "model",
}


def short_name(key: str) -> str:
    return _SHORT.get(key, key.split(".")[-1])
