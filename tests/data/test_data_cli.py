import json
from pathlib import Path

import pytest

from iftkit.cli import main
from iftkit.data.mix import load_manifest
from iftkit.data.rows import read_rows

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.yaml")
SMALL = [
    "--data.general_tasks",
    "[topic, arithmetic, fact_qa]",
    "--data.samples_per_task",
    "60",
    "--mix.test_size_per_task",
    "10",
    "--mix.val_size",
    "6",
]


def test_build_respects_overrides_and_show_prints_counts_and_samples(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--mix.target_count", "12"]) == 0
    printed = capsys.readouterr().out
    m = load_manifest(out)
    assert m["target_count"] == 12 and m["target_ratio"] is None and m["counts"]["train_by_role"]["target"] == 12
    assert f"mix: {out}" in printed and "n = 12" in printed
    assert "in_domain answers: " in printed  # the generation limit eval will use, and why
    assert sorted(p.stem for p in (out / "test").glob("*.jsonl")) == ["arithmetic", "fact_qa", "sentiment", "topic"]
    assert main(["data", "show", str(out), "-n", "2"]) == 0
    shown = capsys.readouterr().out
    assert "train " in shown and shown.count("\n--- [") == 2 and "completion: " in shown
    # `data mix` is the same command
    assert (
        main(["data", "mix", "--config", QUICK, "--out", str(tmp_path / "m2"), *SMALL, "--mix.target_count", "12"]) == 0
    )
    assert (tmp_path / "m2" / "train.jsonl").read_bytes() == (out / "train.jsonl").read_bytes()


def test_show_previews_a_recipe_with_overrides_without_writing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "show", QUICK, *SMALL, "--mix.target_ratio", "0.25", "--mix.total_size", "40", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "train 40 (target 10, general 30" in out and "nothing written" in out
    assert not list(tmp_path.iterdir())


def test_show_a_user_file_and_skip_bad_lines(tmp_path, capsys):
    f = tmp_path / "mine.jsonl"
    f.write_text(
        json.dumps({"instruction": "Say hi", "output": "hi"})
        + "\n{broken\n"
        + json.dumps({"instruction": "Say bye", "output": "bye"})
        + "\n"
    )
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
    assert (
        main(
            [
                "data",
                "build",
                "--config",
                QUICK,
                "--out",
                str(out),
                *SMALL,
                "--mix.target_count",
                "5",
                "--data.general_files",
                f"[{leaky}]",
            ]
        )
        == 2
    )
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
        subprocess.run(
            [
                sys.executable,
                "-m",
                "iftkit",
                "data",
                "build",
                "--config",
                str(ROOT / "recipes/data/byo.yaml"),
                "--out",
                str(out),
                "--data.samples_per_task",
                "30",
                "--mix.test_size_per_task",
                "10",
            ],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        outs.append({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.json*"))})
    assert outs[0] == outs[1] and len(outs[0]) > 20


def _cli(*args, cwd=ROOT):
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "iftkit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_bad_files_are_one_line_on_every_data_path(tmp_path):
    binary = tmp_path / "tickets.jsonl"
    binary.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + bytes(range(200)))  # a gzip someone forgot to unpack
    latin = tmp_path / "reviews.csv"
    latin.write_bytes("instruction,output\nRate it,ok\nRate: tr\u00e8s bien,bon\n".encode("latin-1"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfinstruction,output\r\nSay hi,hi\r\n")
    for args, expected in [
        (["data", "show", binary], f"{binary}: not a text file (binary content)"),
        (["data", "show", latin], f"{latin}:3: not UTF-8 text (byte 0xe8 at column 9)"),
        (
            [
                "data",
                "build",
                "--config",
                QUICK,
                "--out",
                tmp_path / "m1",
                *SMALL,
                "--data.target_task",
                "tickets",
                "--data.target_files",
                f"[{binary}]",
            ],
            f"{binary}: not a text file",
        ),
        (
            [
                "data",
                "build",
                "--config",
                QUICK,
                "--out",
                tmp_path / "m2",
                *SMALL,
                "--data.general_files",
                f"[{latin}]",
            ],
            f"{latin}:3: not UTF-8",
        ),
    ]:
        proc = _cli(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"iftkit: error: {expected}"), proc.stderr
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()
    proc = _cli("data", "show", bom)
    assert proc.returncode == 0 and "schema alpaca" in proc.stdout and "completion: hi" in proc.stdout


def test_a_failing_build_leaves_no_folder_behind(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "Say hi", "output": "hi"}\n{oops\n')
    out = tmp_path / "runs" / "exp" / "mix"
    assert (
        main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--data.general_files", f"[{bad}]"]) == 2
    )
    assert f"{bad}:2: invalid JSON" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # every folder the build created is gone, .build.lock with it
    # an existing empty folder stays, but without the lock the build made
    out.mkdir(parents=True)
    assert (
        main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--data.general_files", f"[{bad}]"]) == 2
    )
    assert out.is_dir() and list(out.iterdir()) == []


def test_a_failing_rebuild_keeps_the_earlier_build_intact(tmp_path, capsys):
    out = tmp_path / "mix"
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *SMALL, "--mix.target_count", "12"]) == 0
    before = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert ".build.lock" in before and "manifest.json" in before
    missing = tmp_path / "nope.csv"
    assert (
        main(
            [
                "data",
                "build",
                "--config",
                QUICK,
                "--out",
                str(out),
                *SMALL,
                "--mix.target_count",
                "12",
                "--data.general_files",
                f"[{missing}]",
                "--force",
            ]
        )
        == 2
    )
    assert f"data file not found: {missing}" in capsys.readouterr().err
    after = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before


def test_a_failing_build_keeps_what_others_wrote_in_folders_it_created(tmp_path, monkeypatch):
    """Two jobs of one sweep start in a fresh runs/ folder; the failing one must not take the other's files."""
    from iftkit.config import load_recipe
    from iftkit.core.errors import IftkitError
    from iftkit.data import mix as mix_module

    out = tmp_path / "runs" / "sweep" / "cell-a" / "mix"
    neighbour = tmp_path / "runs" / "sweep" / "cell-b" / "adapter.txt"

    def failing_plan(recipe):
        neighbour.parent.mkdir(parents=True)
        neighbour.write_text("trained")
        raise IftkitError("bad data")

    monkeypatch.setattr(mix_module, "plan", failing_plan)
    with pytest.raises(IftkitError, match="bad data"):
        mix_module.build_mix(load_recipe(QUICK), out)
    assert neighbour.read_text() == "trained"
    assert not (tmp_path / "runs" / "sweep" / "cell-a").exists()


def test_build_says_the_training_max_length_that_fits_its_rows_and_training_at_it_cuts_none(
    tmp_path, capsys, tiny_model_dir
):
    import re

    from iftkit.config import load_recipe
    from iftkit.models.load import load_tokenizer
    from iftkit.testing.mixes import tiny_recipe_overrides
    from iftkit.training.dataset import load_split
    from iftkit.training.trainer import make_trainer

    out = tmp_path / "mix"
    # the catalog rows run longer than 32 tokens of the tiny model's tokenizer
    overrides = [*SMALL, "--mix.target_count", "12", "--model.id", str(tiny_model_dir), "--training.max_length", "32"]
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *overrides]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "training.max_length" in ln)
    found = re.fullmatch(r"Warning: training\.max_length: 32 \(set in the recipe; longest training row (\d+) tokens "
                         r"of (\d+)\): (\d+) of \2 rows will be cut; raise training\.max_length to (\d+)", line)
    assert found, line
    longest, sized = int(found[1]), int(found[4])
    assert int(found[3]) > 0 and sized >= longest and sized % 64 == 0
    # training at the size it names cuts no row; at the recipe's 32 it cuts the rows the line counted
    for limit, cut in ((sized, 0), (32, int(found[3]))):
        recipe = load_recipe(QUICK, tiny_recipe_overrides(tiny_model_dir, **{"training.max_length": limit}))
        trainer = make_trainer(recipe, str(tiny_model_dir), load_tokenizer(str(tiny_model_dir)),
                               load_split(out, "train"), None, tmp_path / f"ck{limit}")
        assert trainer.row_lengths.cut == cut and trainer.row_lengths.longest == longest
    # a limit that fits says so
    assert main(["data", "build", "--config", QUICK, "--out", str(out), *overrides[:-1], str(sized)]) == 0
    assert f"training.max_length: {sized} (longest training row {longest} tokens of" in capsys.readouterr().out
