"""Bring your own data: one user file (JSONL, JSON, CSV, TSV, Parquet; hub datasets when online) -> Rows.

Reading (encodings, file:line) is iftkit.core.readers; record layouts and the recipe's column /
label mapping are iftkit.layouts. Optional `task`, `category`, `gold`, `source` and `meta`
fields of a record are kept. A malformed record stops the load with `file:line: what was
expected`; with on_bad_line="skip" it is skipped and counted instead.
"""

from dataclasses import dataclass, field
from typing import Optional

from iftkit import layouts
from iftkit.core.errors import IftkitError
from iftkit.core.readers import BadRecord, columns, file_sha256, records, require_file
from iftkit.data.rows import Row
from iftkit.layouts import ColumnMap, check_header

__all__ = ["LoadResult", "file_sha256", "load_file"]


@dataclass
class LoadResult:
    rows: list
    schema: str  # a layout name, or "columns" when read through data.columns
    skipped: int = 0
    skipped_lines: list = field(default_factory=list)  # "file:line: why" for the first few
    sha256: str = ""


def load_file(path, fmt: str = "auto", on_bad_line: str = "error", task: Optional[str] = None,
              force_task: bool = False, mapping: Optional[ColumnMap] = None) -> LoadResult:
    """Load one user data file (or `hf:NAME[:SPLIT]`) into Rows.

    `task` names rows that carry no task field (force_task: all rows); default: the file's stem.
    `mapping` (data.columns / prompt_template / label_map) reads files in no known layout.
    """
    if on_bad_line not in ("error", "skip"):
        raise IftkitError(f"on_bad_line must be 'error' or 'skip', got {on_bad_line!r}")
    layout = None if fmt == "auto" else layouts.get(fmt)
    by_columns = mapping is not None and mapping.maps_columns
    spec = str(path)
    recs, source, digest, default_task = _open(path, fmt, mapping if by_columns else None)
    origin = _Origin(source, default_task, task, force_task)
    rows, skipped, notes = [], 0, []
    for where, rec in recs:
        try:
            if isinstance(rec, BadRecord):
                raise rec
            if by_columns:
                if not rows and not skipped and isinstance(rec, dict):
                    mapping.check_columns(list(rec), spec)  # JSON: the first record shows the fields
                prompt, completion = mapping.to_prompt_completion(rec)
            else:
                layout = layout or _detect(rec, where)
                prompt, completion = layout.to_prompt_completion(rec)
            if mapping is not None:
                completion = mapping.map_label(completion)
            rows.append(_row(rec, prompt, completion, origin, where))
        except BadRecord as exc:
            if on_bad_line == "skip":
                skipped += 1
                if len(notes) < 5:
                    notes.append(f"{where}: {exc}")
                continue
            raise IftkitError(f"{where}: {exc}") from None
    if not rows:
        why = f" ({skipped} bad record(s) skipped)" if skipped else ""
        raise IftkitError(f"{spec}: no usable rows{why}")
    schema = "columns" if by_columns else (layout.name if layout else fmt)
    return LoadResult(rows, schema, skipped, notes, digest)


@dataclass(frozen=True)
class _Origin:
    """What a file gives the rows that do not say it themselves: their source, and the task that names them."""

    source: str
    default_task: str
    task: Optional[str]
    force_task: bool


def _open(path, fmt: str, column_map: Optional[ColumnMap]):
    """(records, source, digest, default task name) of a file or `hf:` spec, its header checked first (against
    the column map where the file is read by columns, else against the layouts)."""
    spec = str(path)
    if spec.startswith("hf:"):
        return _hub_records(spec), f"user:{spec}", spec, spec[3:].split(":")[0].split("/")[-1]
    p = require_file(path)
    if p.stat().st_size == 0:
        raise IftkitError(f"{p}: empty file (no records)")
    header = columns(p)
    if header is not None and not header:
        raise IftkitError(f"{p}: empty file (no header row)")
    if header is not None and column_map is not None:
        column_map.check_columns(header, p)
    elif header is not None:
        check_header(header, fmt, f"{p}:1")
    return records(p), f"user:{p.name}", file_sha256(p), p.stem


def _detect(rec, where) -> layouts.Layout:
    layout = layouts.detect(rec) if isinstance(rec, dict) else None
    if layout is None:
        keys = sorted(rec) if isinstance(rec, dict) else type(rec).__name__
        raise IftkitError(f"{where}: cannot tell the schema from keys {keys}; expected one of: "
                          + layouts.expected_text() + " (or set data.file_format / --format, "
                          "or map fields with data.columns)")
    return layout


def _row(rec, prompt, completion, origin: _Origin, where) -> Row:
    rec_task = rec.get("task") if isinstance(rec.get("task"), str) and rec.get("task").strip() else None
    name = origin.task if (origin.force_task and origin.task) else (rec_task or origin.task or origin.default_task)
    rec_cat = rec.get("category") if isinstance(rec.get("category"), str) and rec.get("category").strip() else None
    cat = rec_cat or "user"
    gold = rec.get("gold", completion)
    if gold is None or (isinstance(gold, float) and gold != gold):
        gold = completion
    src = rec.get("source") if isinstance(rec.get("source"), str) and rec.get("source") else origin.source
    meta = {"origin": where}
    if isinstance(rec.get("meta"), dict):
        meta = {**rec["meta"], **meta}
    return Row(prompt=prompt, completion=completion, task=name, category=cat, gold=gold, source=src, meta=meta)


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
