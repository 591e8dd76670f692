"""`iftkit eval` on the shipped bring-your-own recipe: the user's task gets task scores."""

import json

from iftkit.cli import main
from iftkit.core.paths import project_root


def test_byo_recipe_eval_writes_in_domain_task_scores(tmp_path, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.chdir(project_root())  # the recipe names its data files relative to the checkout
    out = tmp_path / "eval"
    args = [
        "eval",
        "--config",
        "recipes/data/byo.yaml",
        "--out",
        str(out),
        "--no-progress",
        "--model.id",
        str(tiny_model_dir),
        "--eval.suites",
        "[in_domain]",
        "--eval.scorers",
        "[task, chrf]",
        "--eval.max_new_tokens",
        "4",
        "--eval.cache_dir",
        str(tmp_path / "cache"),
        "--tracking.mode",
        "disabled",
    ]
    assert main(args) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    tolerant = [
        r for r in rows if r["suite"] == "in_domain" and r["scorer"] == "task_tolerant" and r["task"] == "__all__"
    ]
    assert len(tolerant) == 1 and tolerant[0]["n"] == 30 and tolerant[0]["mean"] is not None
    assert {r["scorer"] for r in rows} >= {"task_strict", "task_tolerant", "task_format", "chrf"}
    made_by = json.loads(rows[0]["provenance"])  # every row names the machine and libraries behind it
    assert made_by["hardware"]["cpu"] and made_by["versions"]["transformers"]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert all(s["meta"]["task_spec"]["kind"] == "label" for s in samples)

    # meta-eval reaches the same checker through the spec the samples carry: a gold reference exists
    assert (
        main(
            [
                "meta-eval",
                "--results",
                str(out),
                "--scorers",
                "chrf",
                "--resamples",
                "50",
                "--tfa-max-items",
                "5",
                "--no-wandb",
            ]
        )
        == 0
    )
    meta = json.loads((out / "meta_eval" / "meta_eval.json").read_text())
    assert "no sample has a reference judgment" not in " ".join(meta.get("notes", []))
    assert meta["records"] == 30
