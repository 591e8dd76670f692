"""A file in no known layout (a GLUE-style TSV) read through data.columns / prompt_template / label_map."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iftkit.config import validate
from iftkit.core.errors import IftkitError
from iftkit.data.loaders import load_file
from iftkit.layouts import ColumnMap

ROOT = Path(__file__).resolve().parents[2]
REVIEWS = [
    ("a gripping , beautifully shot film", 1),
    ("dull and far too long", 0),
    ("the cast is wonderful", 1),
    ("i walked out halfway", 0),
    ("a small , perfect gem", 1),
]
LABELS = {"0": "negative", "1": "positive"}


def glue_tsv(path, rows=REVIEWS, header="sentence\tlabel"):
    path.write_text(header + "\n" + "".join(f"{s}\t{y}\n" for s, y in rows), encoding="utf-8")
    return path


def mapping(**data):
    return ColumnMap.from_config(validate({"data": data}).data)


def test_glue_tsv_without_a_mapping_says_how_to_map_it(tmp_path):
    p = glue_tsv(tmp_path / "sst2.tsv")
    with pytest.raises(
        IftkitError, match=r"cannot tell the schema from columns \['label', 'sentence'\].*data\.columns"
    ):
        load_file(p)


def test_glue_tsv_with_columns_and_label_map(tmp_path):
    p = glue_tsv(tmp_path / "sst2.tsv")
    # YAML gives int keys ({0: negative}); they are compared with the file's text "0"
    res = load_file(
        p,
        task="sst2",
        force_task=True,
        mapping=mapping(
            columns={"prompt": "sentence", "completion": "label"}, label_map={0: "negative", 1: "positive"}
        ),
    )
    assert res.schema == "columns" and len(res.rows) == 5
    r = res.rows[1]
    assert r.prompt == [{"role": "user", "content": "dull and far too long"}]
    assert (r.completion, r.gold, r.task, r.category) == ("negative", "negative", "sst2", "user")
    assert r.meta["origin"] == f"{p}:3"
    assert [x.completion for x in res.rows] == [LABELS[str(y)] for _, y in REVIEWS]


def test_an_answer_column_holding_a_json_list_is_the_answer_as_json_text(tmp_path):
    p = tmp_path / "ner.jsonl"
    ents = [{"text": "Ann", "type": "PER"}, {"text": "Oslo", "type": "LOC"}]
    p.write_text(json.dumps({"sentence": "Ann flew to Oslo.", "entities": ents, "tags": ["x"]}) + "\n")
    res = load_file(p, task="ner", force_task=True,
                    mapping=mapping(columns={"completion": "entities"}, prompt_template="Entities: {sentence}"))
    assert json.loads(res.rows[0].completion) == ents
    # a list where the prompt's text goes is still refused, by column
    with pytest.raises(IftkitError, match=r"column 'tags' \(data.prompt_template \{tags\}\) holds list, expected text"):
        load_file(p, task="ner", force_task=True, on_bad_line="error",
                  mapping=mapping(columns={"completion": "entities"}, prompt_template="Tags: {tags}"))


def test_prompt_template_input_and_system_columns(tmp_path):
    p = tmp_path / "nli.csv"
    p.write_text(
        "premise,hypothesis,label,sys\nA man sleeps.,A person rests.,0,Answer with one word.\n"
        "A dog runs.,A cat sits.,2,\n"
    )
    m = mapping(
        columns={"completion": "label", "system": "sys"},
        prompt_template="Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis?",
        label_map={0: "entailment", 1: "neutral", 2: "contradiction"},
    )
    rows = load_file(p, mapping=m).rows
    assert rows[0].prompt == [
        {"role": "system", "content": "Answer with one word."},
        {
            "role": "user",
            "content": "Premise: A man sleeps.\nHypothesis: A person rests.\nDoes the premise entail the hypothesis?",
        },
    ]
    assert rows[0].completion == "entailment"
    assert rows[1].prompt[0]["role"] == "user" and rows[1].completion == "contradiction"  # empty system cell: none
    q = tmp_path / "qa.jsonl"
    q.write_text(json.dumps({"q": "Who wrote it?", "ctx": "Ana wrote it.", "a": "Ana"}) + "\n")
    row = load_file(q, mapping=mapping(columns={"prompt": "q", "input": "ctx", "completion": "a"})).rows[0]
    assert row.prompt[0]["content"] == "Who wrote it?\n\nAna wrote it." and row.completion == "Ana"


@pytest.mark.parametrize("kind", ["jsonl", "json", "parquet"])
def test_integer_labels_from_json_and_parquet_map_like_csv_text(tmp_path, kind):
    recs = [{"sentence": s, "label": y} for s, y in REVIEWS]
    p = tmp_path / f"sst2.{kind}"
    if kind == "jsonl":
        p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    elif kind == "json":
        p.write_text(json.dumps(recs))
    else:
        import pandas as pd

        pd.DataFrame(recs).to_parquet(p)
    m = mapping(columns={"prompt": "sentence", "completion": "label"}, label_map={"0": "negative", "1": "positive"})
    assert [r.completion for r in load_file(p, mapping=m).rows] == [LABELS[str(y)] for _, y in REVIEWS]


def test_label_map_on_a_known_layout_and_labels_outside_it(tmp_path):
    p = tmp_path / "alpaca.jsonl"
    p.write_text(
        "".join(json.dumps({"instruction": "Sentiment?", "input": s, "output": str(y)}) + "\n" for s, y in REVIEWS[:2])
    )
    rows = load_file(p, mapping=mapping(label_map={0: "negative", 1: "positive"})).rows
    assert [r.completion for r in rows] == ["positive", "negative"]
    bad = glue_tsv(tmp_path / "bad.tsv", REVIEWS[:2] + [("meh", 3)])
    m = mapping(columns={"prompt": "sentence", "completion": "label"}, label_map={0: "negative", 1: "positive"})
    with pytest.raises(IftkitError, match=rf"^{bad}:4: label '3' is not in data.label_map \(keys: '0', '1'\)$"):
        load_file(bad, mapping=m)
    res = load_file(bad, mapping=m, on_bad_line="skip")
    assert len(res.rows) == 2 and res.skipped == 1


def test_bad_mapping_names_key_file_and_existing_columns(tmp_path):
    p = glue_tsv(tmp_path / "sst2.tsv")
    with pytest.raises(IftkitError) as info:
        load_file(p, mapping=mapping(columns={"prompt": "text", "completion": "label"}))
    assert str(info.value) == f"data.columns.prompt: no column 'text' in {p} (columns: sentence, label)"
    with pytest.raises(
        IftkitError,
        match=rf"^data.prompt_template: placeholder {{review}} is not a column of {p} "
        r"\(columns: sentence, label\)$",
    ):
        load_file(p, mapping=mapping(columns={"completion": "label"}, prompt_template="Review: {review}"))
    j = tmp_path / "sst2.jsonl"
    j.write_text(json.dumps({"sentence": "ok", "label": 1}) + "\n" + json.dumps({"sentence": "ok too"}) + "\n")
    with pytest.raises(
        IftkitError, match=rf"data.columns.completion: no column 'labels' in {j} \(columns: sentence, label\)"
    ):
        load_file(j, mapping=mapping(columns={"prompt": "sentence", "completion": "labels"}))
    with pytest.raises(IftkitError, match=rf"^{j}:2: missing field\(s\) 'label'"):
        load_file(j, mapping=mapping(columns={"prompt": "sentence", "completion": "label"}))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"columns": {"prompt": "sentence"}}, "key 'data.columns'.*needs a 'completion' column"),
        (
            {"columns": {"text": "s", "completion": "l"}},
            r"unknown key\(s\) 'text' \(known: prompt, completion, input, system\)",
        ),
        ({"columns": {"completion": "label"}}, "data.columns has no 'prompt'"),
        ({"prompt_template": "Review: {sentence}"}, "needs data.columns.completion"),
        ({"columns": {"prompt": "s", "completion": "l"}, "prompt_template": "{s}"}, "not both"),
        ({"columns": {"completion": "l"}, "prompt_template": "no placeholder"}, "has no {column} placeholder"),
        ({"columns": {"completion": "l"}, "prompt_template": "{sentence"}, "key 'data.prompt_template'"),
        ({"label_map": {0: "no", 1: True}}, "quote it"),
        ({"file_format": "alpaca", "columns": {"prompt": "s", "completion": "l"}}, "leave data.file_format auto"),
    ],
)
def test_recipe_refuses_incoherent_mappings(data, message):
    with pytest.raises(IftkitError, match=message) as info:
        validate({"data": data})
    assert "\n" not in str(info.value)


def test_data_build_and_show_a_glue_file_from_the_command_line(tmp_path):
    """The whole path a new user takes: a GLUE TSV + three recipe keys -> a built mix, no conversion script."""
    rows = [(f"review number {i} was {'great' if i % 2 else 'awful'}", i % 2) for i in range(60)]
    tsv = glue_tsv(tmp_path / "sst2.tsv", rows)
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(f"""include: {ROOT / "recipes/quickstart.yaml"}
data:
  target_task: sst2
  target_files: [{tsv}]
  general_tasks: [topic, arithmetic]
  samples_per_task: 40
  columns: {{completion: label}}
  prompt_template: "Is this review positive or negative?\\n\\n{{sentence}}"
  label_map: {{0: negative, 1: positive}}
mix: {{target_ratio: 0.25, total_size: 40, val_size: 4, test_size_per_task: 10}}
""")
    out = tmp_path / "mix"
    proc = subprocess.run(
        [sys.executable, "-m", "iftkit", "data", "build", "--config", str(recipe), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    assert f"user file {tsv}: 60 rows (columns)" in proc.stdout
    test_rows = [json.loads(line) for line in (out / "test" / "sst2.jsonl").read_text().splitlines()]
    train = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    target_train = [r for r in train if r["task"] == "sst2"]
    assert len(target_train) == 10 and test_rows  # ratio 0.25 of 40; the test set is held out of the same file
    for r in test_rows + target_train:
        assert r["prompt"][0]["content"].startswith("Is this review positive or negative?\n\nreview number ")
        assert r["completion"] in ("negative", "positive") and r["gold"] == r["completion"]
    # the label follows the row's raw 0/1 (odd review numbers are 1 = positive)
    for r in test_rows + target_train:
        i = int(r["prompt"][0]["content"].split("review number ")[1].split()[0])
        assert r["completion"] == ("positive" if i % 2 else "negative")
