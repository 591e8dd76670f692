import json
from pathlib import Path

import pytest

from iftkit.core.errors import IftkitError
from iftkit.core.readers import (
    BadRecord,
    columns,
    iter_jsonl,
    read_text,
    records,
    strict_records,
    table_records,
    text_lines,
)
from iftkit.testing.cli_runs import assert_one_line_error, run_iftkit

ROOT = Path(__file__).resolve().parents[2]
BOM = b"\xef\xbb\xbf"
# a PNG header: the kind of file someone points a data key at by mistake
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))


def one_line_error(call, *names):
    with pytest.raises(IftkitError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg and all(str(n) in msg for n in names), msg
    return msg


def test_bom_is_dropped_for_jsonl_csv_tsv_and_json(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(BOM + b'{"x": 1}\n{"x": 2}\n')
    (tmp_path / "a.csv").write_bytes(BOM + b"x,y\r\n1,2\r\n")
    (tmp_path / "a.tsv").write_bytes(BOM + b"x\ty\n1\t2\n")
    (tmp_path / "a.json").write_bytes(BOM + b'[{"x": 1}]')
    assert [d for _, d in iter_jsonl(tmp_path / "a.jsonl")] == [{"x": 1}, {"x": 2}]
    assert list(records(tmp_path / "a.csv")) == [(f"{tmp_path / 'a.csv'}:2", {"x": "1", "y": "2"})]
    assert [r for _, r in records(tmp_path / "a.tsv")] == [{"x": "1", "y": "2"}]
    assert columns(tmp_path / "a.csv") == ["x", "y"] and columns(tmp_path / "a.tsv") == ["x", "y"]
    assert [r for _, r in records(tmp_path / "a.json")] == [{"x": 1}]
    assert read_text(tmp_path / "a.jsonl").startswith("{")


@pytest.mark.parametrize("name", ["data.jsonl", "data.csv", "data.tsv", "data.json"])
def test_binary_file_is_one_line_naming_the_file(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(BINARY)
    msg = one_line_error(lambda: list(records(p)), p)
    assert "binary" in msg


def test_non_utf8_text_names_file_line_and_byte(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("sentence,label\nfine,1\ncaf\u00e9 cr\u00e8me,0\n".encode("latin-1"))
    msg = one_line_error(lambda: list(records(p)), f"{p}:3")
    assert "not UTF-8" in msg and "0xe9" in msg and "column 4" in msg
    u16 = tmp_path / "wide.jsonl"
    u16.write_bytes('{"x": 1}\n'.encode("utf-16"))
    assert "UTF-16" in one_line_error(lambda: list(iter_jsonl(u16)), u16)


def test_line_numbers_survive_quoted_newlines_and_blank_lines(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('a,b\n"two\nlines",1\n3,4,5\n6,7\n')
    got = list(table_records(p))
    assert got[0] == (f"{p}:3", {"a": "two\nlines", "b": "1"})
    assert got[1][0] == f"{p}:4" and isinstance(got[1][1], BadRecord)
    assert got[2] == (f"{p}:5", {"a": "6", "b": "7"})
    with pytest.raises(IftkitError, match=rf"^{p}:4: more values than the 2 header columns$"):
        list(strict_records(p))
    j = tmp_path / "t.jsonl"
    j.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(IftkitError, match=rf"^{j}:3: invalid JSON"):
        list(iter_jsonl(j))


def test_header_names_are_trimmed(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(" prompt , score\nq,1\n")
    assert [r for _, r in records(p)] == [{"prompt": "q", "score": "1"}]


def test_json_forms_and_json_lines_saved_as_json(tmp_path):
    arr = tmp_path / "arr.json"
    arr.write_text('[\n  {"a": 1},\n  {"a": 2}\n]\n')
    assert [w for w, _ in records(arr)] == [f"{arr}:2", f"{arr}:3"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"version": 1, "data": [{"a": 1}, {"a": 2}]}))
    assert [r for _, r in records(wrapped)] == [{"a": 1}, {"a": 2}]
    lines = tmp_path / "lines.json"
    lines.write_text('{"a": 1}\n{"a": 2}\n')
    assert [w for w, _ in records(lines)] == [f"{lines}:1", f"{lines}:2"]
    broken = tmp_path / "broken.json"
    broken.write_text('[{"a": 1},\n {"a" 2}]')
    one_line_error(lambda: list(records(broken)), f"{broken}:2", "invalid JSON")


def test_unsupported_type_and_broken_parquet(tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello\n")
    assert ".jsonl, .json, .csv, .tsv or .parquet" in one_line_error(lambda: list(records(txt)), txt)
    pq = tmp_path / "fake.parquet"
    pq.write_text("a,b\n1,2\n")
    assert "not a readable Parquet file" in one_line_error(lambda: list(records(pq)), pq)
    assert "not a readable Parquet file" in one_line_error(lambda: columns(pq), pq)


def test_text_lines_keeps_line_endings_for_the_csv_module(tmp_path):
    p = tmp_path / "crlf.csv"
    p.write_bytes(BOM + b"a\r\nb\r\n")
    assert list(text_lines(p)) == [(1, "a\r\n"), (2, "b\r\n")]


def test_reading_a_binary_file_from_the_cli_is_one_line_without_traceback(tmp_path):
    """The same read through a real process: exit 2, one stderr line, no Python traceback."""
    p = tmp_path / "data.jsonl"
    p.write_bytes(BINARY)
    proc = run_iftkit("data", "show", str(p), pythonpath=ROOT)
    assert_one_line_error(proc, f"iftkit: error: {p}: not a text file (binary content); expected UTF-8 text")
