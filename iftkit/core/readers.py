"""Read user files (JSONL, JSON, CSV, TSV, Parquet) as records whose errors name file and line.

Every text file is read as UTF-8; a leading byte-order mark (Excel and Notepad write one) is
dropped. A binary file, a UTF-16 file or a file with non-UTF-8 bytes stops with one line that
names the file (and the line, where one is known) instead of a decoder traceback.

    for where, rec in records(path):     # where = "file:line" ("file:row N" for Parquet)
        ...                              # rec is a parsed value, or a BadRecord saying what is wrong

Data loaders, meta-eval human labels, dynamics tables and rows files all read through here.
"""

import csv
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Optional

from iftkit.core.errors import IftkitError

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SNIFF_BYTES = 8192
KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
         ".parquet": "parquet", ".pq": "parquet"}
EXPECTED_TYPES = ".jsonl, .json, .csv, .tsv or .parquet"


class BadRecord(ValueError):
    """One record cannot be used (the message says what was expected); the caller adds file:line."""


def require_file(path, what: str = "data file") -> Path:
    p = Path(path)
    if not p.is_file():
        raise IftkitError(f"{what} not found: {p}")
    return p


def file_sha256(path) -> str:
    p = require_file(path)
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_kind(path) -> str:
    kind = KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise IftkitError(f"{path}: unsupported file type {Path(path).suffix or '(none)'} (expected {EXPECTED_TYPES})")
    return kind


# --- text ------------------------------------------------------------------------------------

def _check_text_start(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(_UTF16_BOMS):
        raise IftkitError(f"{path}: UTF-16 text, not UTF-8; re-save the file as UTF-8")
    if b"\x00" in head:  # text never holds NUL bytes; binary formats nearly always do
        raise IftkitError(f"{path}: not a text file (binary content); expected UTF-8 text")


def text_lines(path) -> Iterator[tuple[int, str]]:
    """Yield (line number, line with its newline) of a UTF-8 text file, BOM dropped."""
    path = Path(path)
    _check_text_start(path)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if lineno == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM):]
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IftkitError(f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                  f"{len(raw[:exc.start].decode('utf-8', 'replace')) + 1}); "
                                  f"re-save the file as UTF-8") from None


def read_text(path) -> str:
    return "".join(line for _, line in text_lines(path))


# --- JSON Lines / JSON -----------------------------------------------------------------------

def jsonl_records(path) -> Iterator[tuple[str, Any]]:
    """(file:line, value or BadRecord) for each non-blank line."""
    for lineno, line in text_lines(path):
        if not line.strip():
            continue
        try:
            yield f"{path}:{lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"{path}:{lineno}", BadRecord(f"invalid JSON ({exc.msg} at column {exc.colno})")


def iter_jsonl(path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed value) for each non-blank line; bad JSON stops with file:line."""
    for lineno, line in text_lines(path):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise IftkitError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None


def json_records(path) -> Iterator[tuple[str, Any]]:
    """A JSON array of records (each located by its line), {"key": [records]}, one object,
    or JSON Lines saved under a .json name."""
    path = Path(path)
    text = read_text(path)
    i = _skip_ws(text, 0)
    if i >= len(text):
        return
    if text[i] == "{":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg == "Extra data":  # one object per line: JSON Lines after all
                yield from jsonl_records(path)
                return
            raise IftkitError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        lists = [v for v in obj.values() if isinstance(v, list)]
        if len(lists) == 1 and all(isinstance(x, dict) for x in lists[0]):
            for k, rec in enumerate(lists[0], 1):
                yield f"{path}:record {k}", rec
        else:
            yield f"{path}:{text.count(chr(10), 0, i) + 1}", obj
        return
    if text[i] != "[":
        raise IftkitError(f"{path}:{text.count(chr(10), 0, i) + 1}: expected a JSON array of records")
    dec = json.JSONDecoder()
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


# --- tables ----------------------------------------------------------------------------------

def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def table_records(path) -> Iterator[tuple[str, Any]]:
    """CSV/TSV rows as dicts keyed by the (whitespace-trimmed) header; file:line of each row."""
    path = Path(path)
    reader = csv.DictReader((line for _, line in text_lines(path)), delimiter=_delimiter(path))
    try:
        if not reader.fieldnames:
            return
        reader.fieldnames = [h.strip() for h in reader.fieldnames]
        for rec in reader:
            where = f"{path}:{reader.line_num}"
            if None in rec:
                yield where, BadRecord(f"more values than the {len(reader.fieldnames)} header columns")
                continue
            yield where, rec
    except csv.Error as exc:
        raise IftkitError(f"{path}:{reader.line_num}: unreadable {path.suffix[1:].upper()} ({exc})") from None


def parquet_records(path) -> Iterator[tuple[str, Any]]:
    table = _parquet(path, lambda pq: pq.read_table(path))
    for i, rec in enumerate(table.to_pylist(), 1):
        yield f"{path}:row {i}", rec


def _parquet(path, read):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise IftkitError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        return read(pq)
    except Exception as exc:  # pyarrow raises several types for a broken file
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IftkitError(f"{path}: not a readable Parquet file ({detail})") from None


def columns(path) -> Optional[list[str]]:
    """Column names of a CSV/TSV/Parquet file (None for JSON, whose keys vary per record)."""
    path = Path(path)
    kind = file_kind(path)
    if kind == "parquet":
        return list(_parquet(path, lambda pq: pq.read_schema(path)).names)
    if kind in ("csv", "tsv"):
        for _, line in text_lines(path):
            header = next(csv.reader([line], delimiter=_delimiter(path)), None)
            return [h.strip() for h in header] if header else []
        return []
    return None


# --- any supported file ----------------------------------------------------------------------

_READERS = {"jsonl": jsonl_records, "json": json_records, "csv": table_records, "tsv": table_records,
            "parquet": parquet_records}


def records(path) -> Iterator[tuple[str, Any]]:
    """(where, value or BadRecord) for every record of a supported file, chosen by its suffix."""
    return _READERS[file_kind(path)](Path(path))


def strict_records(path) -> Iterator[tuple[str, Any]]:
    """Like records(), but the first bad record stops the read with `file:line: why`."""
    for where, rec in records(path):
        if isinstance(rec, BadRecord):
            raise IftkitError(f"{where}: {rec}")
        yield where, rec
