import json
from pathlib import Path

from iftkit.cli import main
from iftkit.data.mix import load_manifest
from iftkit.data.rows import read_rows

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.yaml")
SMALL = ["--data.general_tasks", "[topic, arithmetic, fact_qa]", "--data.samples_per_task", "60",
         "--mix.test_size_per_task", "10", "--mix.val_size", "6"]


def test_build_respects_overrides_and_show_prints_counts_and_samples(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--mix.target_count", "12"]) == 0
    printed = capsys.readouterr().out
    m = load_manifest(out)
    assert m["target_count"] == 12 and m["target_ratio"] is None and m["counts"]["train_by_role"]["target"] == 12
    assert f"mix: {out}" in printed and "n = 12" in printed
    assert sorted(p.stem for p in (out / "test").glob("*.jsonl")) == ["arithmetic", "fact_qa", "sentiment", "topic"]
    assert main(["data", "show", str(out), "-n", "2"]) == 0
    shown = capsys.readouterr().out
    assert "train " in shown and shown.count("\n--- [") == 2 and "completion: " in shown
    # `data mix` is the same command
    assert main(["data", "mix", "--config", QUICK, "--out", str(tmp_path / "m2"), *SMALL, "--mix.target_count", "12"]) == 0
    assert (tmp_path / "m2" / "train.jsonl").read_bytes() == (out / "train.jsonl").read_bytes()


def test_show_previews_a_recipe_with_overrides_without_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "show", QUICK, *SMALL, "--mix.target_ratio", "0.25", "--mix.total_size", "40", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "train 40 (target 10, general 30" in out and "nothing written" in out
    assert not list(tmp_path.iterdir())


def test_show_a_user_file_and_skip_bad_lines(tmp_path, capsys):
    f = tmp_path / "mine.jsonl"
    f.write_text(json.dumps({"instruction": "Say hi", "output": "hi"}) + "\n{broken\n"
                 + json.dumps({"instruction": "Say bye", "output": "bye"}) + "\n")
    assert main(["data", "show", str(f)]) == 2
    assert f"{f}:2: invalid JSON" in capsys.readouterr().err
    assert main(["data", "show", str(f), "--on-bad-line", "skip"]) == 0
    out = capsys.readouterr().out
    assert "schema alpaca, 1 bad line(s) skipped" in out and "2 rows" in out and f"skipped {f}:2:" in out


def test_leak_through_the_cli_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--mix.target_count", "5"]) == 0
    capsys.readouterr()
    test_row = read_rows(out / "test" / "topic.jsonl")[0]
    leaky = tmp_path / "leaky.jsonl"
    leaky.write_text(json.dumps({"prompt": test_row.prompt, "completion": test_row.completion}) + "\n")
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--mix.target_count", "5",
                 "--data.general_files", f"[{leaky}]"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("iftkit: error: test-set leak: 1 of the general rows") and "\n" not in err


def test_tasks_lists_the_catalog(capsys):
    assert main(["data", "tasks"]) == 0
    out = capsys.readouterr().out
    assert "sentiment" in out and "ticket_json" in out and out.count("strict:") >= 12


def test_byte_identical_across_processes_and_hash_seeds(tmp_path):
    import os
    import subprocess
    import sys

    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"m{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "iftkit", "data", "build", "--config", str(ROOT / "recipes/data/byo.yaml"),
                        "--out", str(out), "--data.samples_per_task", "30", "--mix.test_size_per_task", "10"],
                       env=env, check=True, capture_output=True, cwd=ROOT)
        outs.append({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.json*"))})
    assert outs[0] == outs[1] and len(outs[0]) > 20
