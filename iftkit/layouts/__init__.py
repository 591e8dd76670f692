"""Record layouts of user data files, and the recipe's column / label mapping -> prompt + completion.

Layouts (`data.file_format`), auto-detected from the first record unless given:

- alpaca             {"instruction", "input"?, "output"}; Dolly's {"instruction", "context", "response"} too
- messages           {"messages": [{"role", "content"}, ...]} ending with an assistant turn
- sharegpt           {"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]}
- prompt_completion  {"prompt": str | messages, "completion": str | [assistant message]} ("response" also
                     accepted); iftkit rows are this layout with task/category/gold/source kept

A file in none of these (a GLUE TSV of `sentence`/`label`) is read through a ColumnMap built from
`data.columns` / `data.prompt_template`; `data.label_map` turns raw labels (0/1) into answers.
Functions here raise BadRecord for one bad record; the loader adds file:line.
"""

import json
import math
import string
from dataclasses import dataclass, field
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.readers import BadRecord

SCHEMAS = ("alpaca", "messages", "sharegpt", "prompt_completion")
COLUMN_ROLES = ("prompt", "completion", "input", "system")
_ROLES = {"system", "user", "assistant"}
_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "system": "system",
}


# --- known layouts ----------------------------------------------------------------------------


def detect_schema(rec) -> Optional[str]:
    if not isinstance(rec, dict):
        return None
    keys = set(rec)
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "sharegpt"
    if "instruction" in keys and ({"output", "response"} & keys):
        return "alpaca"
    if "prompt" in keys and ({"completion", "response"} & keys):
        return "prompt_completion"
    return None


EXPECTED = {
    "alpaca": "alpaca fields 'instruction' and 'output' ('input' optional; Dolly's 'context'/'response' accepted)",
    "messages": "a 'messages' list of {role, content} ending with an assistant message",
    "sharegpt": "a 'conversations' list of {from, value} ending with a gpt turn",
    "prompt_completion": "fields 'prompt' (text or messages) and 'completion' (text)",
}
# columns each layout needs (any one name of each group), checked against a table's header up front
REQUIRED_COLUMNS = {
    "alpaca": [("instruction",), ("output", "response")],
    "prompt_completion": [("prompt",), ("completion", "response")],
    "messages": [("messages",)],
    "sharegpt": [("conversations",)],
}


def _text(rec, key, required=True) -> str:
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


def _maybe_json_list(v):
    # CSV cells hold messages as JSON text
    if isinstance(v, str) and v.strip().startswith("["):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            raise BadRecord("a messages cell is not valid JSON") from None
    return v


def _messages(turns, role_key="role", text_key="content", role_map=None) -> list[dict]:
    turns = _maybe_json_list(turns)
    if hasattr(turns, "tolist"):
        turns = turns.tolist()
    if not isinstance(turns, list) or not turns:
        raise BadRecord(f"expected a non-empty list of messages, got {type(turns).__name__}")
    out = []
    for k, t in enumerate(turns):
        if not isinstance(t, dict) or role_key not in t or text_key not in t:
            raise BadRecord(f"message {k} must be an object with '{role_key}' and '{text_key}'")
        role = role_map.get(str(t[role_key]).lower()) if role_map else t[role_key]
        if role not in _ROLES:
            raise BadRecord(f"message {k} has unknown role {t[role_key]!r}")
        if not isinstance(t[text_key], str):
            raise BadRecord(f"message {k} '{text_key}' must be a string, got {type(t[text_key]).__name__}")
        out.append({"role": role, "content": t[text_key]})
    return out


def _split_last_assistant(msgs: list[dict]) -> tuple[list[dict], str]:
    if msgs[-1]["role"] != "assistant":
        raise BadRecord("the last message must be the assistant's answer")
    prompt = msgs[:-1]
    if not any(m["role"] == "user" for m in prompt):
        raise BadRecord("no user message before the assistant's answer")
    if not msgs[-1]["content"].strip():
        raise BadRecord("the assistant's answer is empty")
    return prompt, msgs[-1]["content"]


def to_prompt_completion(rec, schema: str) -> tuple[list[dict], str]:
    if not isinstance(rec, dict):
        raise BadRecord(f"expected a JSON object, got {type(rec).__name__}")
    if schema == "alpaca":
        if "instruction" not in rec or not ({"output", "response"} & set(rec)):
            raise BadRecord(f"expected {EXPECTED['alpaca']}; got keys {sorted(rec)}")
        instruction = _text(rec, "instruction")
        extra = _text(rec, "input", required=False) or _text(rec, "context", required=False)
        output = _text(rec, "output" if "output" in rec else "response")
        user = instruction if not extra.strip() else f"{instruction}\n\n{extra}"
        return [{"role": "user", "content": user}], output
    if schema == "messages":
        if "messages" not in rec:
            raise BadRecord(f"expected {EXPECTED['messages']}; got keys {sorted(rec)}")
        return _split_last_assistant(_messages(rec["messages"]))
    if schema == "sharegpt":
        if "conversations" not in rec:
            raise BadRecord(f"expected {EXPECTED['sharegpt']}; got keys {sorted(rec)}")
        return _split_last_assistant(_messages(rec["conversations"], "from", "value", _SHAREGPT_ROLES))
    if schema == "prompt_completion":
        if "prompt" not in rec or not ({"completion", "response"} & set(rec)):
            raise BadRecord(f"expected {EXPECTED['prompt_completion']}; got keys {sorted(rec)}")
        p = _maybe_json_list(rec["prompt"])
        if isinstance(p, str):
            if not p.strip():
                raise BadRecord("field 'prompt' is empty")
            prompt = [{"role": "user", "content": p}]
        else:
            prompt = _messages(p)
        key = "completion" if "completion" in rec else "response"
        c = _maybe_json_list(rec[key])
        if isinstance(c, list):  # TRL conversational form: [{"role": "assistant", ...}]
            msgs = _messages(c)
            if len(msgs) != 1 or msgs[0]["role"] != "assistant":
                raise BadRecord(f"field '{key}' as messages must be one assistant message")
            completion = msgs[0]["content"]
        else:
            completion = _text(rec, key)
        if not completion.strip():
            raise BadRecord(f"field '{key}' is empty")
        return prompt, completion
    raise IftkitError(f"unknown data schema {schema!r} (known: auto, {', '.join(SCHEMAS)})")


def check_header(header: list[str], fmt: str, where: str) -> None:
    """Name a table's missing layout columns from its header, before reading any row."""
    cols = set(header)
    schema = fmt if fmt != "auto" else detect_schema({c: "" for c in cols})
    if schema is None:
        raise IftkitError(
            f"{where}: cannot tell the schema from columns {sorted(cols)}; expected one of: "
            + "; ".join(EXPECTED.values())
            + " (or map columns with data.columns)"
        )
    missing = [" or ".join(alts) for alts in REQUIRED_COLUMNS[schema] if not cols & set(alts)]
    if missing:
        raise IftkitError(
            f"{where}: missing column(s) {', '.join(repr(m) for m in missing)} for the {schema} "
            f"schema (columns: {', '.join(header)})"
        )


# --- the recipe's column and label mapping ---------------------------------------------------


def label_key(value) -> str:
    """A raw label as the text label_map keys are compared with: CSV "0", JSON 0 and Parquet 0.0 agree."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def template_fields(template: str) -> list[str]:
    """The {column} placeholders of a prompt template (ValueError for a malformed one)."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    if any(n == "" or n.isdigit() for n in names):
        raise ValueError("placeholders must name a column, like {sentence} ({} and {0} name none)")
    return list(dict.fromkeys(names))


def _cell(rec: dict, column: str, why: str, required: bool = True, structured: bool = False) -> str:
    """structured: a JSON object or list in the cell (an answer that is a record or a list of entities)
    is the answer, written as JSON text; elsewhere it is refused."""
    v = rec.get(column)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        if required:
            raise BadRecord(f"no value in column '{column}' ({why})")
        return ""
    if isinstance(v, (dict, list)):
        if structured:
            return json.dumps(v, ensure_ascii=False)
        raise BadRecord(f"column '{column}' ({why}) holds {type(v).__name__}, expected text")
    text = label_key(v) if not isinstance(v, str) else v
    if required and not text.strip():
        raise BadRecord(f"column '{column}' ({why}) is empty")
    return text


@dataclass(frozen=True)
class ColumnMap:
    """data.columns / data.prompt_template / data.label_map, applied to the target task's files."""

    columns: dict = field(default_factory=dict)  # role (prompt, completion, input, system) -> column
    prompt_template: Optional[str] = None
    label_map: dict = field(default_factory=dict)  # label_key(raw) -> answer

    @classmethod
    def from_config(cls, data_cfg) -> Optional["ColumnMap"]:
        if not (data_cfg.columns or data_cfg.prompt_template or data_cfg.label_map):
            return None
        return cls(dict(data_cfg.columns or {}), data_cfg.prompt_template, dict(data_cfg.label_map or {}))

    @property
    def maps_columns(self) -> bool:
        return bool(self.columns)

    def check_columns(self, available, path) -> None:
        """Every mapped column and template placeholder must exist in the file."""
        have = ", ".join(available) if available else "none"
        for role, col in self.columns.items():
            if col not in available:
                raise IftkitError(f"data.columns.{role}: no column {col!r} in {path} (columns: {have})")
        for name in template_fields(self.prompt_template or ""):
            if name not in available:
                raise IftkitError(
                    f"data.prompt_template: placeholder {{{name}}} is not a column of {path} (columns: {have})"
                )

    def to_prompt_completion(self, rec) -> tuple[list[dict], str]:
        if not isinstance(rec, dict):
            raise BadRecord(f"expected an object with the data.columns fields, got {type(rec).__name__}")
        missing = [c for c in [*self.columns.values(), *template_fields(self.prompt_template or "")] if c not in rec]
        if missing:
            raise BadRecord(
                f"missing field(s) {', '.join(repr(m) for m in missing)} named in data.columns / "
                f"data.prompt_template (fields: {', '.join(sorted(map(str, rec)))})"
            )
        if self.prompt_template:
            values = {n: _cell(rec, n, f"data.prompt_template {{{n}}}") for n in template_fields(self.prompt_template)}
            user = self.prompt_template.format_map(values)
        else:
            user = _cell(rec, self.columns["prompt"], "data.columns.prompt")
        extra = (
            _cell(rec, self.columns["input"], "data.columns.input", required=False) if "input" in self.columns else ""
        )
        if extra.strip():
            user = f"{user}\n\n{extra}"
        prompt = [{"role": "user", "content": user}]
        if "system" in self.columns:
            system = _cell(rec, self.columns["system"], "data.columns.system", required=False)
            if system.strip():
                prompt.insert(0, {"role": "system", "content": system})
        return prompt, _cell(rec, self.columns["completion"], "data.columns.completion", structured=True)

    def map_label(self, completion: str) -> str:
        """The answer for a raw label; one already in the answer set passes (rows written after mapping)."""
        if not self.label_map:
            return completion
        key = label_key(completion)
        if key in self.label_map:
            return self.label_map[key]
        if completion in self.label_map.values():
            return completion
        known = ", ".join(repr(k) for k in self.label_map)
        raise BadRecord(f"label {completion!r} is not in data.label_map (keys: {known})")
