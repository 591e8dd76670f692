"""Layouts are found by the registry, one module each: detection, listing order, and a new layout in one file."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from iftkit import layouts
from iftkit.core.errors import IftkitError
from iftkit.core.readers import BadRecord
from iftkit.data.loaders import load_file

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_layouts_in_listing_order():
    assert layouts.names() == ("alpaca", "messages", "sharegpt", "prompt_completion")


@pytest.mark.parametrize(
    "record, name",
    [
        ({"instruction": "i", "output": "o"}, "alpaca"),
        ({"instruction": "i", "context": "c", "response": "r"}, "alpaca"),
        ({"messages": []}, "messages"),
        ({"conversations": []}, "sharegpt"),
        ({"prompt": "p", "response": "r"}, "prompt_completion"),
        # a conversation record carrying stray field-layout keys is read as the conversation
        ({"messages": [], "instruction": "i", "output": "o"}, "messages"),
        ({"conversations": [], "prompt": "p", "completion": "c"}, "sharegpt"),
        ({"instruction": "i", "output": "o", "prompt": "p", "completion": "c"}, "alpaca"),
    ],
)
def test_detection_and_its_precedence(record, name):
    assert layouts.detect(record).name == name


def test_a_record_in_no_layout_and_an_unknown_name():
    assert layouts.detect({"x": 1}) is None and layouts.detect(["sentence", "label"]) is None
    with pytest.raises(IftkitError, match=r"unknown data format 'tsv' \(known: auto, alpaca, messages, sharegpt"):
        layouts.get("tsv")
    with pytest.raises(BadRecord, match=r"expected alpaca fields 'instruction' and 'output'.*got keys \['prompt'\]"):
        layouts.get("alpaca").to_prompt_completion({"prompt": "p"})


def test_header_check_names_the_missing_columns():
    with pytest.raises(IftkitError, match=r"^t.csv:1: missing column\(s\) 'output or response' for the alpaca schema"):
        layouts.check_header(["instruction", "input"], "alpaca", "t.csv:1")
    layouts.check_header(["prompt", "response"], "auto", "t.csv:1")


QA_LAYOUT = '''
"""qa: {"question", "answer"} (a layout added for a test: this file is the whole change)."""

from iftkit.layouts.base import Layout, text

LAYOUT = Layout(
    name="qa",
    expected="fields 'question' and 'answer'",
    fields=(("question",), ("answer",)),
    read=lambda rec: ([{"role": "user", "content": text(rec, "question")}], text(rec, "answer")),
)
'''

CHECK = '''
import json, sys
from iftkit.config import validate
from iftkit.data.loaders import load_file
from iftkit.data.mix import plan

auto = load_file(sys.argv[1])
forced = load_file(sys.argv[2], fmt="qa")
recipe = validate({"data": {"target_task": "qa", "target_files": [sys.argv[1]], "file_format": "qa",
                            "general_tasks": ["arithmetic"], "samples_per_task": 20},
                   "mix": {"target_count": 4, "val_size": 2, "test_size_per_task": 2}})
p = plan(recipe)
print(json.dumps({"auto": [auto.schema, auto.rows[0].prompt, auto.rows[0].completion],
                  "csv": [forced.schema, len(forced.rows)],
                  "recipe": recipe.data.file_format,
                  "user_files": p["info"]["user_files"][sys.argv[1]]["schema"]}))
'''


def test_a_new_layout_is_one_file(tmp_path):
    """A copy of the package plus one file under iftkit/layouts/: files of that shape load by detection and
    by name, a recipe accepts it as data.file_format, a mix builds from it and `data show --help` lists it."""
    pkg = tmp_path / "iftkit"
    shutil.copytree(ROOT / "iftkit", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "layouts" / "qa.py").write_text(textwrap.dedent(QA_LAYOUT))
    qa = tmp_path / "faq.jsonl"
    qa.write_text("".join(json.dumps({"question": f"What is {i} plus one?", "answer": str(i + 1)}) + "\n"
                          for i in range(40)))
    table = tmp_path / "faq.csv"
    table.write_text("question,answer\nWho wrote it?,Ana\nWhere?,Oslo\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", CHECK, str(qa), str(table)], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["auto"] == ["qa", [{"role": "user", "content": "What is 0 plus one?"}], "1"]
    assert got["csv"] == ["qa", 2] and got["recipe"] == "qa" and got["user_files"] == "qa"
    helped = subprocess.run([sys.executable, "-m", "iftkit", "data", "show", "--help"], capture_output=True,
                            text=True, cwd=tmp_path, env=env)
    assert helped.returncode == 0 and "qa (fields 'question' and 'answer')" in " ".join(helped.stdout.split())
    # the package this test copied does not know the layout: the file alone made the difference
    with pytest.raises(IftkitError, match="cannot tell the schema"):
        load_file(qa)
