import json
from pathlib import Path

import pytest

from iftkit.core.errors import IftkitError
from iftkit.meta.human import HumanPair, HumanScore, load_human, normalise_scores
from iftkit.testing.cli_runs import assert_one_line_error, run_iftkit

LLMBAR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_single_scores_jsonl_and_csv(tmp_path):
    j = _jsonl(
        tmp_path / "h.jsonl",
        [
            {"prompt": "Sum 2+2", "response": "4", "score": 5, "reference": "4", "task": "math"},
            {"prompt": [{"role": "user", "content": "Say hi"}], "response": "hello", "score": 1},
        ],
    )
    got = load_human(j)
    assert [type(x) for x in got] == [HumanScore, HumanScore]
    assert got[1].prompt == "Say hi" and got[0].task == "math" and got[1].task == "human"
    assert normalise_scores(got) == [1.0, 0.0]
    c = tmp_path / "h.csv"
    c.write_text('prompt,response,score\n"Sum 2+2","4",4\n"Say hi","hey, there",2\n')
    rows = load_human(c)
    assert rows[1].response == "hey, there" and rows[1].score == 2.0


def test_pairwise_with_ties(tmp_path):
    f = _jsonl(
        tmp_path / "p.jsonl",
        [
            {"prompt": "q", "response_a": "x", "response_b": "y", "preference": "A"},
            {"prompt": "q2", "response_a": "x", "response_b": "y", "preference": "tie"},
        ],
    )
    got = load_human(f)
    assert [p.preference for p in got] == ["a", "tie"] and isinstance(got[0], HumanPair)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"prompt": "q", "response": "r"}], "h.jsonl:1: missing key(s) score"),
        (
            [{"prompt": "q", "response": "r", "score": 1}, {"prompt": "q", "response": "r", "score": "high"}],
            "h.jsonl:2: 'score' is 'high'",
        ),
        ([{"prompt": "q", "response_a": "x", "response_b": "y", "preference": "c"}], "expected a, b or tie"),
        (
            [
                {"prompt": "q", "response": "r", "score": 1},
                {"prompt": "q", "response_a": "x", "response_b": "y", "preference": "a"},
            ],
            "h.jsonl:2: mixes pairwise with single",
        ),
        ([{"prompt": "", "response": "r", "score": 1}], "'prompt' must be a non-empty string"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, rows, message):
    with pytest.raises(IftkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_human(_jsonl(tmp_path / "h.jsonl", rows))


def test_broken_json_and_csv_lines_are_located(tmp_path):
    f = tmp_path / "h.jsonl"
    f.write_text('{"prompt": "q", "response": "r", "score": 1}\n{"prompt": \n')
    with pytest.raises(IftkitError, match=r"h.jsonl:2: invalid JSON"):
        load_human(f)
    c = tmp_path / "h.csv"
    c.write_text("prompt,response,score\nq,r,1\nq,r,\n")
    with pytest.raises(IftkitError, match=r"h.csv:3: 'score' is ''"):
        load_human(c)
    with pytest.raises(IftkitError, match="file not found"):
        load_human(tmp_path / "nope.json")
    arr = tmp_path / "a.json"
    arr.write_text('[{"input": "q", "output_1": "a", "output_2": "b", "label": 3}]')
    with pytest.raises(IftkitError, match=r"a.json:1: LLMBar 'label' is 3"):
        load_human(arr)


@pytest.mark.skipif(
    not LLMBAR.is_file(),
    reason="../shared/data/llmbar/LLMBar_Natural.json not present (test data lives outside the product)",
)
def test_llmbar_natural_imports_as_pairwise():
    pairs = load_human(LLMBAR)
    assert len(pairs) == 100 and all(isinstance(p, HumanPair) for p in pairs)
    raw = json.loads(LLMBAR.read_text())
    assert [p.preference for p in pairs] == ["a" if r["label"] == 1 else "b" for r in raw]
    assert pairs[0].response_a == raw[0]["output_1"]


def test_bom_files_load_and_binary_or_latin1_files_are_one_line_errors(tmp_path):
    bom = b"\xef\xbb\xbf"
    j = tmp_path / "h.jsonl"
    j.write_bytes(
        bom
        + b'{"prompt": "Sum 2+2", "response": "4", "score": 5}\n{"prompt": "Say hi", "response": "yo", "score": 2}\n'
    )
    c = tmp_path / "h.csv"
    c.write_bytes(bom + b"prompt,response,score\r\nSum 2+2,4,5\r\nSay hi,yo,2\r\n")
    for p in (j, c):
        got = load_human(p)
        assert [(h.prompt, h.score) for h in got] == [("Sum 2+2", 5.0), ("Say hi", 2.0)]
    binary = tmp_path / "labels.json"
    binary.write_bytes(b"\x50\x4b\x03\x04\x14\x00\x00\x00" + bytes(range(128)))  # a zip (an .xlsx, say)
    with pytest.raises(IftkitError, match=rf"^{binary}: not a text file \(binary content\)"):
        load_human(binary)
    latin = tmp_path / "labels.csv"
    latin.write_bytes("prompt,response,score\nq,r\u00e9ponse,1\n".encode("latin-1"))
    with pytest.raises(IftkitError, match=rf"^{latin}:2: not UTF-8 text"):
        load_human(latin)
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("prompt\tresponse_a\tresponse_b\tpreference\nq\tx\ty\tb\n")
    assert [p.preference for p in load_human(tsv)] == ["b"]


def test_meta_eval_human_with_a_binary_file_exits_with_one_line(tmp_path):
    root = Path(__file__).resolve().parents[2]
    binary = tmp_path / "labels.jsonl"
    binary.write_bytes(b"\x00" * 64)
    proc = run_iftkit(
        "meta-eval",
        "--human",
        str(binary),
        "--out",
        str(tmp_path / "o"),
        "--no-wandb",
        pythonpath=root,
    )
    assert_one_line_error(proc, f"iftkit: error: {binary}: not a text file (binary content); expected UTF-8 text")
