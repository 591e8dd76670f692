"""Reading a list answer (entities, line items, extracted records) the way a careful human scores it.

A model's answer to a record-list task is text: prose, code fences, an example it copied from the
prompt, a wrapper object, a list cut off by the length limit. `read_list` finds the list it means:

- every complete JSON value in the answer is read in order (JSON is parsed, never evaluated);
- a list is a candidate as it stands; an object is either a record (it has one of the gold records'
  fields, or holds no list) or a wrapper, whose first list (depth first, in key order) is the
  candidate: `{"entities": [...], "count": 2}`, `{"result": {"entities": [...]}}`;
- records standing loose in a row (one per line, or the complete ones of a list the limit cut off)
  form one candidate together;
- the *last* candidate wins (an example list usually comes before the real one), preferring those
  whose items are records when the gold's are;
- no candidate: an explicit "nothing" answer ("None", "No entities found", "There are no entities
  in this sentence") is the empty list; anything else is unreadable (None).

Items are compared by `item_id`: a record on the gold records' fields only (an extra `start` or
`confidence` is a format matter, see `extra_fields`), case and spacing ignored, numbers written as
strings read as numbers (`"2"` is `2`, `2.0` is `2`).
"""

import json
import re
from typing import Optional

from iftkit.data.tasks.base import normalize, strip_wrappers

# what a careful human reads as "the list is empty", on the normalised answer (articles and
# punctuation dropped); a noun is required after "no", so "No, the answer is Ann" stays unreadable
_NOUN = r"(?:entit(?:y|ies)|items?|records?|results?|matches|names?|mentions?|values?|objects?|ones?)"
_NOTHING = re.compile(
    r"(?:none|nothing|null|empty|n a|empty list)(?: found)?"
    rf"|(?:there (?:are|is) |i found |i see |found )?no (?:\w+ ){{0,2}}?{_NOUN}"
    r"(?: (?:found|detected|present|mentioned|here|given|to extract))?(?: in (?:this |that |given )?\w+)?"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def record_fields(gold: list) -> frozenset:
    """The fields the gold's records have (lower case): what a predicted record is matched on."""
    return frozenset(_key(k) for x in gold if isinstance(x, dict) for k in x)


def read_list(text: str, fields: frozenset = frozenset()) -> Optional[list]:
    """The list the answer gives (see the module doc), [] for an explicit empty answer, None when
    no list can be read from it."""
    candidates = _candidates(text, fields)
    if candidates:
        fitting = [c for c in candidates if not fields or _holds_records(c)]
        return (fitting or candidates)[-1]
    return [] if _NOTHING.fullmatch(normalize(strip_wrappers(text))) else None


def _candidates(text: str, fields: frozenset) -> list[list]:
    out, loose = [], []
    for value in _json_values(text):
        inner = value if isinstance(value, list) else _wrapped_list(value, fields)
        if inner is None:  # a record standing on its own
            loose.append(value)
            continue
        if loose:
            out.append(loose)
            loose = []
        out.append(inner)
    if loose:
        out.append(loose)
    return out


def _json_values(text: str):
    """Every complete top-level JSON object or array in the text, in order."""
    dec, i = json.JSONDecoder(), 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = dec.raw_decode(text, i)
            except ValueError:
                pass  # not JSON, or cut off: the complete values inside it are read next
            else:
                yield value
                i = end
                continue
        i += 1


def _wrapped_list(obj: dict, fields: frozenset) -> Optional[list]:
    """The first list inside a wrapper object (the first list of records when the gold has records),
    or None when the object is a record itself."""
    if fields & {_key(k) for k in obj}:
        return None
    lists = list(_lists_in(obj))
    fitting = [x for x in lists if not fields or _holds_records(x)]
    return (fitting or lists or [None])[0]


def _lists_in(value):
    """The lists inside nested objects, depth first in key order (a list's own items are not entered)."""
    if isinstance(value, list):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _lists_in(v)


def _holds_records(items: list) -> bool:
    return not items or any(isinstance(x, dict) for x in items)


def item_id(item, fields: frozenset = frozenset(), key: str = "") -> str:
    """What an item is matched on: one field of a record (`key`), or the record on the gold's fields
    (every field when the gold has none), canonical: case, spacing and number spelling ignored."""
    if isinstance(item, dict):
        item = {_key(k): v for k, v in item.items()}
        if key:
            item = item.get(key.strip().lower())
        elif fields:
            item = {k: v for k, v in item.items() if k in fields}
    return json.dumps(canonical(item), sort_keys=True, ensure_ascii=False)


def canonical(value):
    """Keys and strings lower-cased and space-collapsed; numeric strings and integral floats as ints."""
    if isinstance(value, dict):
        return {_key(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, str):
        text = " ".join(value.lower().split())
        return _number(float(text)) if _NUMBER.fullmatch(text) else text
    if isinstance(value, float):
        return _number(value)
    return value


def _number(x: float):
    return int(x) if x.is_integer() else x


def _key(k) -> str:
    return str(k).strip().lower()


def extra_fields(items: list, fields: frozenset) -> bool:
    """Does any record carry a field the gold's records do not (a format fault, not a wrong item)?"""
    return bool(fields) and any(isinstance(x, dict) and not {_key(k) for k in x} <= fields for x in items)
