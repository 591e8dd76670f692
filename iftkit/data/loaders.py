"""Bring your own data: JSONL, JSON, CSV, Parquet (and hub datasets when online) -> Rows.

Schemas, auto-detected from the first record unless given:

- alpaca             {"instruction", "input"?, "output"}; Dolly's {"instruction", "context", "response"} too
- messages           {"messages": [{"role", "content"}, ...]} ending with an assistant turn
- sharegpt           {"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]}
- prompt_completion  {"prompt": str | messages, "completion": str | [assistant message]} ("response" also
                     accepted); iftkit rows are this schema with task/category/gold/source kept

Optional `task`, `category` and `gold` fields are kept. A malformed record stops the load with
`file:line: what was expected`; with on_bad_line="skip" it is skipped and counted instead.
"""

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from iftkit.data.rows import Row
from iftkit.errors import IftkitError

SCHEMAS = ("alpaca", "messages", "sharegpt", "prompt_completion")
_ROLES = {"system", "user", "assistant"}
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "chatgpt": "assistant", "bot": "assistant", "model": "assistant", "system": "system"}


class BadRecord(ValueError):
    """One record does not fit the schema (message says what was expected)."""


@dataclass
class LoadResult:
    rows: list
    schema: str
    skipped: int = 0
    skipped_lines: list = field(default_factory=list)  # "file:line: why" for the first few
    sha256: str = ""


def file_sha256(path) -> str:
    p = Path(path)
    if not p.is_file():
        raise IftkitError(f"data file not found: {path}")
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- reading records with their line numbers -------------------------------------------------

def _records(path: Path) -> Iterator[tuple[str, object]]:
    """Yield (where, record-or-BadRecord) with `where` = file:line (file:row N for Parquet)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield f"{path}:{lineno}", json.loads(line)
                except json.JSONDecodeError as exc:
                    yield f"{path}:{lineno}", BadRecord(f"invalid JSON ({exc.msg} at column {exc.colno})")
    elif suffix == ".json":
        yield from _json_array_records(path)
    elif suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            if not reader.fieldnames:
                return
            for rec in reader:
                where = f"{path}:{reader.line_num}"
                if None in rec:
                    yield where, BadRecord(f"more values than the {len(reader.fieldnames)} header columns")
                    continue
                yield where, rec
    elif suffix in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise IftkitError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise IftkitError(f"{path}: not a readable Parquet file ({exc})") from None
        for i, rec in enumerate(table.to_pylist(), 1):
            yield f"{path}:row {i}", rec
    else:
        raise IftkitError(f"{path}: unsupported file type {suffix or '(none)'} "
                          f"(expected .jsonl, .json, .csv, .tsv or .parquet)")


def _json_array_records(path: Path):
    text = path.read_text(encoding="utf-8")
    dec = json.JSONDecoder()
    i = _skip_ws(text, 0)
    if i >= len(text):
        return
    if text[i] == "{":  # {"data": [...]} or a single object
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IftkitError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        lists = [v for v in obj.values() if isinstance(v, list)] if isinstance(obj, dict) else []
        if len(lists) == 1 and all(isinstance(x, dict) for x in lists[0]):
            for k, rec in enumerate(lists[0], 1):
                yield f"{path}:record {k}", rec
        else:
            yield f"{path}:1", obj
        return
    if text[i] != "[":
        raise IftkitError(f"{path}:{text.count(chr(10), 0, i) + 1}: expected a JSON array of records")
    i += 1
    while True:
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == "]":
            return
        line = text.count("\n", 0, i) + 1
        try:
            rec, i = dec.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise IftkitError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        yield f"{path}:{line}", rec
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == ",":
            i += 1
        elif i < len(text) and text[i] == "]":
            return
        else:
            raise IftkitError(f"{path}:{text.count(chr(10), 0, i) + 1}: expected ',' or ']' between records")


def _skip_ws(text, i):
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


# --- schemas ---------------------------------------------------------------------------------

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


_EXPECTED = {
    "alpaca": "alpaca fields 'instruction' and 'output' ('input' optional; Dolly's 'context'/'response' accepted)",
    "messages": "a 'messages' list of {role, content} ending with an assistant message",
    "sharegpt": "a 'conversations' list of {from, value} ending with a gpt turn",
    "prompt_completion": "fields 'prompt' (text or messages) and 'completion' (text)",
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
            raise BadRecord(f"expected {_EXPECTED['alpaca']}; got keys {sorted(rec)}")
        instruction = _text(rec, "instruction")
        extra = _text(rec, "input", required=False) or _text(rec, "context", required=False)
        output = _text(rec, "output" if "output" in rec else "response")
        user = instruction if not extra.strip() else f"{instruction}\n\n{extra}"
        return [{"role": "user", "content": user}], output
    if schema == "messages":
        if "messages" not in rec:
            raise BadRecord(f"expected {_EXPECTED['messages']}; got keys {sorted(rec)}")
        return _split_last_assistant(_messages(rec["messages"]))
    if schema == "sharegpt":
        if "conversations" not in rec:
            raise BadRecord(f"expected {_EXPECTED['sharegpt']}; got keys {sorted(rec)}")
        return _split_last_assistant(_messages(rec["conversations"], "from", "value", _SHAREGPT_ROLES))
    if schema == "prompt_completion":
        if "prompt" not in rec or not ({"completion", "response"} & set(rec)):
            raise BadRecord(f"expected {_EXPECTED['prompt_completion']}; got keys {sorted(rec)}")
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


# --- the loader ------------------------------------------------------------------------------

def load_file(path, fmt: str = "auto", on_bad_line: str = "error", task: Optional[str] = None,
              force_task: bool = False, category: Optional[str] = None, max_rows: Optional[int] = None) -> LoadResult:
    """Load one user data file (or `hf:NAME[:SPLIT]`) into Rows.

    `task` names rows that carry no task field (force_task: all rows); default: the file's stem.
    """
    if on_bad_line not in ("error", "skip"):
        raise IftkitError(f"on_bad_line must be 'error' or 'skip', got {on_bad_line!r}")
    if fmt != "auto" and fmt not in SCHEMAS:
        raise IftkitError(f"unknown data format {fmt!r} (known: auto, {', '.join(SCHEMAS)})")
    spec = str(path)
    if spec.startswith("hf:"):
        records, source, digest = _hub_records(spec), f"user:{spec}", spec
        default_task = spec[3:].split(":")[0].split("/")[-1]
    else:
        p = Path(path)
        if not p.is_file():
            raise IftkitError(f"data file not found: {p}")
        if p.stat().st_size == 0:
            raise IftkitError(f"{p}: empty file (no records)")
        _check_columns(p, fmt)
        records, source, digest = _records(p), f"user:{p.name}", file_sha256(p)
        default_task = p.stem
    schema = None if fmt == "auto" else fmt
    rows, skipped, notes = [], 0, []
    for where, rec in records:
        try:
            if isinstance(rec, BadRecord):
                raise rec
            if schema is None:
                schema = detect_schema(rec)
                if schema is None:
                    keys = sorted(rec) if isinstance(rec, dict) else type(rec).__name__
                    raise IftkitError(
                        f"{where}: cannot tell the schema from keys {keys}; expected one of: "
                        + "; ".join(_EXPECTED.values()) + " (or set data.file_format / --format)")
            prompt, completion = to_prompt_completion(rec, schema)
            rows.append(_row(rec, prompt, completion, task, force_task, default_task, category, source, where))
        except BadRecord as exc:
            if on_bad_line == "skip":
                skipped += 1
                if len(notes) < 5:
                    notes.append(f"{where}: {exc}")
                continue
            raise IftkitError(f"{where}: {exc}") from None
        if max_rows is not None and len(rows) >= max_rows:
            break
    if not rows:
        why = f" ({skipped} bad record(s) skipped)" if skipped else ""
        raise IftkitError(f"{spec}: no usable rows{why}")
    return LoadResult(rows, schema or fmt, skipped, notes, digest)


def _row(rec, prompt, completion, task, force_task, default_task, category, source, where) -> Row:
    rec_task = rec.get("task") if isinstance(rec.get("task"), str) and rec.get("task").strip() else None
    name = task if (force_task and task) else (rec_task or task or default_task)
    rec_cat = rec.get("category") if isinstance(rec.get("category"), str) and rec.get("category").strip() else None
    cat = category or rec_cat or "user"
    gold = rec.get("gold", completion)
    if gold is None or (isinstance(gold, float) and gold != gold):
        gold = completion
    src = rec.get("source") if isinstance(rec.get("source"), str) and rec.get("source") else source
    meta = {"origin": where}
    if isinstance(rec.get("meta"), dict):
        meta = {**rec["meta"], **meta}
    return Row(prompt=prompt, completion=completion, task=name, category=cat, gold=gold, source=src, meta=meta)


def _check_columns(path: Path, fmt: str) -> None:
    """CSV: name missing columns up front, from the header."""
    if path.suffix.lower() not in (".csv", ".tsv"):
        return
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), None)
    if not header:
        raise IftkitError(f"{path}: empty file (no header row)")
    cols = set(header)
    schema = fmt if fmt != "auto" else detect_schema({c: "" for c in cols})
    needed = {"alpaca": [("instruction",), ("output", "response")], "prompt_completion": [("prompt",), ("completion", "response")],
              "messages": [("messages",)], "sharegpt": [("conversations",)]}
    if schema is None:
        raise IftkitError(f"{path}:1: cannot tell the schema from columns {sorted(cols)}; expected one of: "
                          + "; ".join(_EXPECTED.values()))
    missing = [" or ".join(alts) for alts in needed[schema] if not cols & set(alts)]
    if missing:
        raise IftkitError(f"{path}:1: missing column(s) {', '.join(repr(m) for m in missing)} for the {schema} "
                          f"schema (columns: {', '.join(header)})")


def _hub_records(spec: str):
    name, _, split = spec[3:].partition(":")
    try:
        import datasets
        ds = datasets.load_dataset(name, split=split or "train")
    except Exception as exc:  # offline, unknown name, no such split...
        raise IftkitError(f"{spec}: cannot load hub dataset {name!r} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
    for i, rec in enumerate(ds, 1):
        yield f"{spec}:row {i}", rec


def load_files(paths, fmt="auto", on_bad_line="error", task=None, force_task=False) -> tuple[list[Row], dict]:
    rows, report = [], {}
    for p in paths:
        res = load_file(p, fmt, on_bad_line, task, force_task)
        rows += res.rows
        report[str(p)] = {"rows": len(res.rows), "skipped": res.skipped, "schema": res.schema, "sha256": res.sha256}
    return rows, report
