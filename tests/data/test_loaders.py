import csv
import json

import pytest

from iftkit.core.errors import IftkitError
from iftkit.data.loaders import load_file

ALPACA = [
    {"instruction": "Classify the review.", "input": "Great phone.", "output": "positive"},
    {"instruction": "Say hello in French.", "input": "", "output": "Bonjour"},
]
MESSAGES = [
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
        ]
    },
    {"messages": [{"role": "user", "content": "Capital of Peru?"}, {"role": "assistant", "content": "Lima"}]},
]
SHAREGPT = [
    {
        "conversations": [
            {"from": "human", "value": "Hi"},
            {"from": "gpt", "value": "Hello!"},
            {"from": "human", "value": "Name a fruit."},
            {"from": "gpt", "value": "pear"},
        ]
    }
]
PROMPT_COMPLETION = [
    {"prompt": "Sort: b, a", "completion": "a, b", "task": "sorting", "category": "list_ops"},
    {"prompt": [{"role": "user", "content": "Upper: hi"}], "completion": [{"role": "assistant", "content": "HI"}]},
]


def jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def csv_file(path, records):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(records[0]))
        w.writeheader()
        for r in records:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
    return path


@pytest.mark.parametrize(
    "schema,records",
    [("alpaca", ALPACA), ("messages", MESSAGES), ("sharegpt", SHAREGPT), ("prompt_completion", PROMPT_COMPLETION)],
)
@pytest.mark.parametrize("kind", ["jsonl", "csv", "json", "parquet"])
def test_each_schema_loads_from_each_file_type(tmp_path, schema, records, kind):
    path = tmp_path / f"mine.{kind}"
    if kind == "jsonl":
        jsonl(path, records)
    elif kind == "csv":
        csv_file(path, records)
    elif kind == "json":
        path.write_text(json.dumps(records, indent=2))
    else:
        import pandas as pd

        if schema == "prompt_completion":  # a Parquet column holds one type: messages as JSON text
            records = [{k: v if isinstance(v, str) else json.dumps(v) for k, v in r.items()} for r in records]
        pd.DataFrame(records).to_parquet(path)
    res = load_file(path)
    assert res.schema == schema and res.skipped == 0 and len(res.rows) == len(records)
    row = res.rows[0]
    assert row.prompt[-1]["role"] == "user" and row.completion and row.gold == row.completion
    assert row.source == f"user:mine.{kind}" and row.meta["origin"].startswith(str(path))
    if schema == "alpaca":
        assert (
            row.prompt == [{"role": "user", "content": "Classify the review.\n\nGreat phone."}]
            and row.completion == "positive"
        )
        assert res.rows[1].prompt[0]["content"] == "Say hello in French."
    if schema == "messages":
        assert row.prompt[0] == {"role": "system", "content": "Be brief."} and row.completion == "4"
    if schema == "sharegpt":
        assert [m["role"] for m in row.prompt] == ["user", "assistant", "user"] and row.completion == "pear"
    if schema == "prompt_completion":
        assert (row.task, row.category) == ("sorting", "list_ops") and res.rows[1].completion == "HI"
        if kind != "parquet":
            assert res.rows[1].task == "mine"  # no task field: the file's name


def test_dolly_fields_and_explicit_task(tmp_path):
    p = jsonl(
        tmp_path / "d.jsonl",
        [{"instruction": "Who?", "context": "Ana wrote it.", "response": "Ana", "category": "closed_qa"}],
    )
    res = load_file(p, task="qa", force_task=True)
    assert res.rows[0].prompt[0]["content"] == "Who?\n\nAna wrote it." and res.rows[0].task == "qa"
    assert res.rows[0].category == "closed_qa"


def test_malformed_line_fails_with_file_and_line_or_is_skipped_and_counted(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(ALPACA[0]) + "\n\n" + '{"instruction": "x", "output": \n' + json.dumps(ALPACA[1]) + "\n")
    with pytest.raises(IftkitError, match=rf"^{p}:3: invalid JSON"):
        load_file(p)
    res = load_file(p, on_bad_line="skip")
    assert len(res.rows) == 2 and res.skipped == 1 and res.skipped_lines[0].startswith(f"{p}:3:")


def test_wrong_types_missing_fields_and_unknown_schema(tmp_path):
    p = jsonl(tmp_path / "t.jsonl", [ALPACA[0], {"instruction": "x", "output": 5}])
    with pytest.raises(IftkitError, match=r"t.jsonl:2: field 'output' must be a string, got int"):
        load_file(p)
    p = jsonl(tmp_path / "m.jsonl", [ALPACA[0], {"instruction": "only an instruction"}])
    with pytest.raises(IftkitError, match=r"m.jsonl:2: expected alpaca fields 'instruction' and 'output'"):
        load_file(p)
    p = jsonl(tmp_path / "u.jsonl", [{"question": "q", "answer": "a"}])
    with pytest.raises(IftkitError, match=r"u.jsonl:1: cannot tell the schema from keys \['answer', 'question'\]"):
        load_file(p)
    p = jsonl(tmp_path / "e.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    with pytest.raises(IftkitError, match="e.jsonl:1: the last message must be the assistant's answer"):
        load_file(p)
    p = jsonl(
        tmp_path / "s.jsonl", [{"conversations": [{"from": "alien", "value": "x"}, {"from": "gpt", "value": "y"}]}]
    )
    with pytest.raises(IftkitError, match="s.jsonl:1: message 0 has unknown role 'alien'"):
        load_file(p)
    # an explicit schema overrides detection and is enforced
    p = jsonl(tmp_path / "o.jsonl", MESSAGES)
    with pytest.raises(IftkitError, match="o.jsonl:1: expected alpaca fields"):
        load_file(p, fmt="alpaca")


def test_empty_inputs_and_missing_columns(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(IftkitError, match="empty file"):
        load_file(tmp_path / "empty.jsonl")
    (tmp_path / "blank.jsonl").write_text("\n\n")
    with pytest.raises(IftkitError, match="no usable rows"):
        load_file(tmp_path / "blank.jsonl")
    (tmp_path / "cols.csv").write_text("instruction,answer\nhi,there\n")
    with pytest.raises(
        IftkitError, match=r"cols.csv:1: missing column\(s\) 'output or response' for the alpaca schema"
    ):
        load_file(tmp_path / "cols.csv", fmt="alpaca")
    (tmp_path / "ragged.csv").write_text("instruction,output\nhi,there\na,b,c\n")
    with pytest.raises(IftkitError, match=r"ragged.csv:3: more values than the 2 header columns"):
        load_file(tmp_path / "ragged.csv")
    (tmp_path / "arr.json").write_text(
        '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "output": 7}\n]'
    )
    with pytest.raises(IftkitError, match=r"arr.json:3: field 'output' must be a string"):
        load_file(tmp_path / "arr.json")
    with pytest.raises(IftkitError, match="data file not found"):
        load_file(tmp_path / "nope.jsonl")
    with pytest.raises(IftkitError, match="unsupported file type"):
        load_file(jsonl(tmp_path / "x.txt", ALPACA))


def test_hub_dataset_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(IftkitError, match="hf:nobody/nothing: cannot load hub dataset"):
        load_file("hf:nobody/nothing")


def test_bom_files_load_and_binary_or_latin1_files_are_named(tmp_path):
    bom = b"\xef\xbb\xbf"
    j = tmp_path / "bom.jsonl"
    j.write_bytes(bom + "".join(json.dumps(r) + "\n" for r in ALPACA).encode())
    c = tmp_path / "bom.csv"
    c.write_bytes(bom + b"instruction,input,output\r\nClassify the review.,Great phone.,positive\r\n")
    for p in (j, c):
        res = load_file(p)
        assert res.schema == "alpaca" and res.rows[0].completion == "positive"
        assert res.rows[0].prompt[0]["content"] == "Classify the review.\n\nGreat phone."
    binary = tmp_path / "data.parquet.jsonl"
    binary.write_bytes(b"PAR1\x15\x04\x15\x10\x00\x00" + bytes(range(256)))
    with pytest.raises(IftkitError, match=rf"^{binary}: not a text file \(binary content\)"):
        load_file(binary)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(
        json.dumps(ALPACA[0]).encode() + b"\n" + '{"instruction": "D\u00e9cris", "output": "ok"}\n'.encode("latin-1")
    )
    with pytest.raises(IftkitError, match=rf"^{latin}:2: not UTF-8 text"):
        load_file(latin)
