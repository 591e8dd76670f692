"""What a result depends on, as a hash that survives upgrades.

A run's identity is the values of the recipe sections it depends on that differ from the schema's
defaults, plus SCHEMA_VERSION. A release that adds a key with a default changes no identity, so
finished sweeps stay finished; a release that changes what a default means bumps SCHEMA_VERSION
(tests/config/test_identity.py fails until it does), and every cell is redone once, on purpose.

Keys that decide where things go or how often progress is logged, not what is trained or scored,
are left out (NOT_RESULT).

Before this scheme (version 0) a hash covered the whole dump of its sections, defaults included.
`legacy_hash` recomputes that form so sweeps finished by those versions are recognised, not redone.
"""

import hashlib
import json
from functools import lru_cache
from typing import Any, Iterable

from pydantic import BaseModel

from iftkit.config.loader import validate
from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError

SCHEMA_VERSION = 1
TRAIN_SECTIONS = ("model", "lora", "data", "mix", "training")
EVAL_SECTIONS = TRAIN_SECTIONS + ("eval",)
BASE_EVAL_SECTIONS = ("model", "data", "eval")
# the judge trust gate's thresholds apply when a report is written, to a cached measurement; which listed
# judges a sweep ran is kept in each point's state record (sweep/judge_off.py), so turning
# eval.judge.run_untrusted on scores the points that lack them and turning it off keeps what they have
NOT_RESULT = frozenset({"training.output_dir", "training.logging_steps", "training.save_total_limit",
                        "eval.judge.trust_min_agreement", "eval.judge.trust_min_pairs", "eval.judge.run_untrusted"})
# keys added to these sections after version 0: version-0 hashes were computed without them
ADDED_AFTER_V0: tuple[str, ...] = ("eval.judge.trust_min_agreement", "eval.judge.trust_min_pairs",
                                   "eval.ifbench_samples", "eval.ifbench_max_new_tokens",
                                   "eval.forgetting_file", "eval.forgetting_samples", "eval.forgetting_max_tokens",
                                   "eval.judge.run_untrusted")
DEFAULT = object()  # a key absent from an identity: it holds the schema's default


def identity(recipe: Recipe, sections: Iterable[str]) -> dict:
    """{section: its non-default values}, nested as in the recipe (keys in NOT_RESULT left out)."""
    out = {}
    for section in sections:
        values = getattr(recipe, section).model_dump(mode="json", exclude_defaults=True)
        for key in NOT_RESULT:
            owner, _, name = key.partition(".")
            if owner == section:
                _pop(values, name)
        out[section] = values
    return out


def identity_hash(values: dict) -> str:
    blob = json.dumps({"schema_version": SCHEMA_VERSION, **values}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def recipe_identity_hash(recipe: Recipe, sections: Iterable[str]) -> str:
    return identity_hash(identity(recipe, sections))


def legacy_hash(recipe: Recipe, sections: Iterable[str]) -> str:
    """The version-0 hash of these sections: their whole dump, defaults included."""
    dumped = recipe.model_dump(mode="json")
    for key in ADDED_AFTER_V0:
        _pop(dumped, key)
    blob = json.dumps({k: dumped[k] for k in sections}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _pop(values: dict, dotted: str) -> None:
    """Remove a (nested, dotted) key where present, and the sub-sections it leaves empty (an identity with
    only that key set equals the default one)."""
    head, _, rest = dotted.partition(".")
    if not rest:
        values.pop(head, None)
    elif isinstance(values.get(head), dict):
        _pop(values[head], rest)
        if not values[head]:
            del values[head]


def identity_of_dump(dump: dict, sections: Iterable[str]):
    """The identity of a recipe recorded as a whole dump (an adapter card, a manifest), or None where this
    version can no longer read it."""
    try:
        return identity(validate(dump), sections)
    except IftkitError:
        return None


def differences(old: dict, new: dict) -> list[tuple[str, Any, Any]]:
    """(dotted key, old value, new value) for every key whose value differs; a key absent from one side
    holds its default there (DEFAULT)."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, DEFAULT), new.get(key, DEFAULT)
        if all(isinstance(x, dict) or x is DEFAULT for x in (a, b)):  # a section or sub-model: key by key
            out += [(f"{key}.{k}", x, y) for k, x, y in differences(*({} if x is DEFAULT else x for x in (a, b)))]
        elif a != b:
            out.append((key, a, b))
    return out


def describe_differences(old: dict, new: dict, limit: int = 4) -> str:
    """`model.attn_implementation: default -> 'eager'`, at most `limit` of them."""
    diffs = differences(old, new)
    if not diffs:
        return "no recipe value differs (another iftkit version hashed it)"
    text = "; ".join(f"{k}: {_show(a, k)} -> {_show(b, k)}" for k, a, b in diffs[:limit])
    return text + (f" and {len(diffs) - limit} more" if len(diffs) > limit else "")


def _show(value, key: str) -> str:
    if value is not DEFAULT:
        return json.dumps(value, ensure_ascii=False)
    node: Any = _defaults()
    for part in key.split("."):
        node = node.get(part, DEFAULT) if isinstance(node, dict) else DEFAULT
    return "(default)" if node is DEFAULT else f"{json.dumps(node, ensure_ascii=False)} (default)"


@lru_cache(maxsize=1)
def _defaults() -> dict:
    return Recipe().model_dump(mode="json")


def flat_defaults(sections: Iterable[str] = EVAL_SECTIONS) -> dict:
    """{dotted key: default} of every key of these sections (mapping-valued keys as one value): what
    tests/config/schema_defaults.json pins for SCHEMA_VERSION."""
    out: dict = {}

    def walk(prefix: str, node, model_keys: bool):
        if model_keys and isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}", value, isinstance(value, dict) and f"{prefix}.{key}" in _SUBMODELS)
        else:
            out[prefix] = node

    for section in sections:
        walk(section, _defaults()[section], True)
    return out


def _submodels(model, prefix: str = "") -> set:
    found = set()
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found.add(f"{prefix}{name}")
            found |= _submodels(kind, f"{prefix}{name}.")
    return found


_SUBMODELS = _submodels(Recipe)
