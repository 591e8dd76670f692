"""What a record layout is, and the field readers the layouts share.

A layout module (one file in this package) ends with `LAYOUT = Layout(...)`: its name (the value of
`data.file_format`), what its records hold (error and help text), the fields a record needs (which
also tell the layout from a record or a table header), and how a record becomes prompt + completion.
The readers raise BadRecord for one bad record; the loader adds file:line.
"""

import json
from dataclasses import dataclass
from typing import Callable

from iftkit.core.readers import BadRecord

ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class Layout:
    name: str
    expected: str  # what a record holds, e.g. "a 'messages' list of {role, content} ending with ..."
    # the fields a record needs: one name of each group; a record (or header) holding them all fits the layout
    fields: tuple
    read: Callable  # read(record: dict) -> (prompt messages, completion); BadRecord for a bad record

    def fits(self, keys) -> bool:
        return not self.missing(keys)

    def missing(self, keys) -> list:
        """The field groups `keys` lacks, as "a or b" text."""
        have = set(keys)
        return [" or ".join(group) for group in self.fields if not have & set(group)]

    def to_prompt_completion(self, rec) -> tuple[list[dict], str]:
        if not isinstance(rec, dict):
            raise BadRecord(f"expected a JSON object, got {type(rec).__name__}")
        if not self.fits(rec):
            raise BadRecord(f"expected {self.expected}; got keys {sorted(rec)}")
        return self.read(rec)


# --- field readers ---------------------------------------------------------------------------


def text(rec, key, required=True) -> str:
    v = rec.get(key)
    if v is None or (isinstance(v, float) and v != v):  # missing, null, or a CSV/Parquet NaN
        if required:
            raise BadRecord(f"missing field '{key}'")
        return ""
    if not isinstance(v, str):
        raise BadRecord(f"field '{key}' must be a string, got {type(v).__name__}")
    if required and not v.strip():
        raise BadRecord(f"field '{key}' is empty")
    return v


def maybe_json_list(v):
    # CSV cells hold messages as JSON text
    if isinstance(v, str) and v.strip().startswith("["):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            raise BadRecord("a messages cell is not valid JSON") from None
    return v


def messages(turns, role_key="role", text_key="content", role_map=None) -> list[dict]:
    turns = maybe_json_list(turns)
    if hasattr(turns, "tolist"):
        turns = turns.tolist()
    if not isinstance(turns, list) or not turns:
        raise BadRecord(f"expected a non-empty list of messages, got {type(turns).__name__}")
    out = []
    for k, t in enumerate(turns):
        if not isinstance(t, dict) or role_key not in t or text_key not in t:
            raise BadRecord(f"message {k} must be an object with '{role_key}' and '{text_key}'")
        role = role_map.get(str(t[role_key]).lower()) if role_map else t[role_key]
        if role not in ROLES:
            raise BadRecord(f"message {k} has unknown role {t[role_key]!r}")
        if not isinstance(t[text_key], str):
            raise BadRecord(f"message {k} '{text_key}' must be a string, got {type(t[text_key]).__name__}")
        out.append({"role": role, "content": t[text_key]})
    return out


def split_last_assistant(msgs: list[dict]) -> tuple[list[dict], str]:
    if msgs[-1]["role"] != "assistant":
        raise BadRecord("the last message must be the assistant's answer")
    prompt = msgs[:-1]
    if not any(m["role"] == "user" for m in prompt):
        raise BadRecord("no user message before the assistant's answer")
    if not msgs[-1]["content"].strip():
        raise BadRecord("the assistant's answer is empty")
    return prompt, msgs[-1]["content"]
