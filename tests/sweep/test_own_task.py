"""`iftkit sweep --target-file FILE`: a ratio sweep on the user's own file, end to end on the tiny model."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from iftkit.core.errors import IftkitError
from iftkit.core.paths import safe_name
from iftkit.data.loaders import load_file
from iftkit.sweep.own_task import OwnTask, parse_pairs, prepare
from iftkit.training.wandb_offline import summarize

ROOT = Path(__file__).resolve().parents[2]


def routing_file(tmp_path, n=150):
    teams = ("billing", "shipping", "technical")
    f = tmp_path / "My Tickets.jsonl"
    f.write_text(
        "".join(
            json.dumps(
                {
                    "instruction": "Route this ticket to billing, shipping or technical.",
                    "input": f"Ticket {i}: issue about {['an invoice', 'a parcel', 'a crash'][i % 3]}",
                    "output": teams[i % 3],
                }
            )
            + "\n"
            for i in range(n)
        )
    )
    return f


def tiny_base(tmp_path, model_dir):
    path = tmp_path / "base.yaml"
    path.write_text(f"""
include: {ROOT / "recipes" / "quickstart.yaml"}
model: {{id: {model_dir}}}
data: {{samples_per_task: 40, general_tasks: all}}
mix: {{target_ratio: 0.5, total_size: 240, val_size: 4, test_size_per_task: 3}}
training: {{max_steps: 2, per_device_train_batch_size: 4, save_steps: 2, logging_steps: 1}}
eval: {{scorers: [task, chrf], max_new_tokens: 4, instruction_set: none, general_samples_per_task: 1}}
sweep: {{grid: {{mix.target_ratio: [0.0, 1.0]}}, seeds: [0], out_dir: {tmp_path / "runs"}}}
""")
    return path


def own(path, name=None, columns=None, labels=None, template=None, base=None, overrides=()):
    return prepare(OwnTask.from_flags(str(path), name, columns, labels, template), base, overrides)


def test_packaged_quickstart_sweep_equals_the_recipes_it_is_made_from():
    from iftkit.config.loader import read_recipe_data
    from iftkit.sweep.own_task import packaged_quickstart_sweep

    quickstart = read_recipe_data(ROOT / "recipes" / "sweeps" / "quickstart.yaml")
    # the one difference: the quickstart pins its in-domain limit (its base model names the label within a
    # few tokens, then rambles); an own task starts from the label floor
    assert quickstart["eval"].pop("in_domain_max_new_tokens") == 32
    assert read_recipe_data(packaged_quickstart_sweep()) == quickstart


def test_pairs_parse_and_bad_pairs_name_the_flag():
    assert parse_pairs("prompt=sentence, completion=label", "--columns") == {
        "prompt": "sentence",
        "completion": "label",
    }
    with pytest.raises(IftkitError, match="--labels: expected KEY=VALUE"):
        parse_pairs("0=negative,1", "--labels")


def _digest_of(text, replacement):
    from iftkit.sweep.own_task import _digest

    settings = "".join(
        ln for ln in text.replace("total_size: 96", replacement).splitlines(keepends=True) if not ln.startswith("#")
    )
    return _digest(settings)


def test_recipe_is_written_once_sized_to_the_file_and_an_edited_one_is_not_overwritten(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = routing_file(tmp_path)
    path = own(f).path
    assert path == Path("runs/my_tickets-sweep/recipe.yaml")
    text = path.read_text()
    assert text.startswith("# Run: iftkit sweep --config runs/my_tickets-sweep/recipe.yaml")
    # 150 rows: 30 held out, 120 left; ratio 1.0 needs total + 24 validation rows
    assert "total_size: 96" in text
    assert own(f).path == path  # same command: same recipe
    # an unedited recipe from an older iftkit is rewritten; an edited one is left alone
    path.write_text(
        text.replace("total_size: 96", "total_size: 90").replace(
            text.split("settings-sha256: ")[1][:16], _digest_of(text, "total_size: 90")
        )
    )
    assert own(f).path == path and path.read_text() == text
    path.write_text(text.replace("total_size: 96", "total_size: 50"))
    with pytest.raises(IftkitError, match="was edited"):
        own(f)


NAME = "avis clientès"  # a display name: a space and a non-ASCII letter


def test_a_display_name_gets_a_safe_folder_and_keeps_its_text(tmp_path, monkeypatch):
    from iftkit.sweep.layout import sweep_root

    monkeypatch.chdir(tmp_path)
    prepared = own(routing_file(tmp_path), NAME)
    folder = prepared.path.parent.name
    assert prepared.path == Path("runs") / folder / "recipe.yaml" and folder == safe_name(f"{NAME}-sweep")
    assert folder.startswith("avis-clientes-sweep-") and folder.isascii() and " " not in folder
    assert prepared.recipe.name == f"{NAME}-sweep" and prepared.recipe.data.target_task == NAME
    assert sweep_root(prepared.recipe) == Path("runs") / folder  # the sweep runs where its recipe lives
    # names already safe keep their folder; names that differ only in unsafe characters never share one
    assert safe_name("routing-sweep") == "routing-sweep"
    assert len({safe_name(n) for n in ("avis clients", "avis-clients", "avis_clients", "avis clïents")}) == 4


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ""])
def test_a_target_name_that_is_a_path_is_refused_in_one_line(tmp_path, monkeypatch, name):
    from iftkit.testing.cli_runs import assert_one_line_error, run_iftkit

    monkeypatch.chdir(tmp_path)
    f = routing_file(tmp_path)
    with pytest.raises(IftkitError, match="--target-name"):
        own(f, name)
    assert not list(tmp_path.rglob("recipe.yaml"))
    if name == "../x":
        problem = "a name cannot hold a path separator ('/' or '\\'): it names a folder under runs/"
        assert_one_line_error(run_iftkit("sweep", "--target-file", f, "--target-name", name),
                              f"iftkit: error: --target-name '../x': {problem}")


def test_a_file_too_small_for_a_ratio_sweep_gets_a_count_sweep(tmp_path, monkeypatch):
    from iftkit.config import load_recipe
    from iftkit.data.mix import plan
    from iftkit.sweep.grid import expand

    monkeypatch.chdir(tmp_path)
    written = own(routing_file(tmp_path, n=50), "small")
    # 50 rows: 30 held out leave 20; n + its validation share (24 x n / (n + 128), rounded) must fit in 20
    assert "My Tickets.jsonl: 50 unique rows: too few for a ratio sweep (it needs 64 training + validation rows " \
        "after its 30-row test set), so this is a count sweep instead" in written.note
    assert "n = 0, 4, 8, 17 of your rows added to the same 128 general rows; 30 rows are the test set" in written.note
    recipe = load_recipe(written.path)
    assert recipe.sweep.grid == {"mix.target_count": [0, 4, 8, 17]}  # replaces the quickstart's ratio grid
    assert (recipe.mix.target_ratio, recipe.mix.general_count) == (None, 128)
    cells = expand(recipe, source=str(written.path))
    biggest = plan(cells[-1].recipe)  # the largest n builds: its rows and validation share fit the file
    assert biggest["info"]["target_rows"] == 17 and biggest["info"]["general_rows"] == 128
    # 24 rows leave too few beside a 30-row test set: the test set shrinks (its CI width is printed)
    small = own(routing_file(tmp_path, n=24), "tiny")
    assert "12 rows are the test set (a score's 95 % CI is up to about ±0.28)" in small.note
    with pytest.raises(IftkitError, match="too few for any sweep"):
        own(routing_file(tmp_path, n=12), "tinier")


def test_a_glue_style_tsv_needs_only_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "sst.tsv"
    f.write_text(
        "sentence\tlabel\n" + "".join(f"film {i} was {'great' if i % 2 else 'dull'}\t{i % 2}\n" for i in range(200))
    )
    path = own(f, None, "completion=label", "0=negative,1=positive", "Positive or negative? {sentence}").path
    from iftkit.config import load_recipe
    from iftkit.data.mix import plan

    recipe = load_recipe(path)
    assert recipe.data.label_map == {"0": "negative", "1": "positive"} and recipe.mix.total_size == 136
    p = plan(recipe.model_copy(update={"mix": recipe.mix.model_copy(update={"target_ratio": 1.0})}))
    assert {r.completion for r in p["train"]} == {"negative", "positive"}
    assert p["train"][0].prompt[0]["content"].startswith("Positive or negative? film ")
    assert "sentiment" in p["info"]["excluded_general_tasks"]


def test_the_recipe_in_memory_is_the_written_one_with_the_overrides(tmp_path, monkeypatch):
    from iftkit.config import load_recipe

    monkeypatch.chdir(tmp_path)
    overrides = ["--training.max_steps", "3", "--mix.target_ratio=0.25"]
    prepared = own(routing_file(tmp_path), overrides=overrides)
    assert prepared.recipe == load_recipe(prepared.path, overrides)
    assert prepared.recipe.training.max_steps == 3 and prepared.recipe.data.target_task == "my_tickets"


def test_the_users_file_is_read_once_to_size_the_sweep_and_build_its_mixes(tmp_path, monkeypatch):
    from iftkit.data import pools
    from iftkit.data.mix import plan
    from iftkit.sweep.grid import expand

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pools, "_loaded", {})
    reads = []
    monkeypatch.setattr(pools, "load_file", lambda path, **kw: reads.append(path) or load_file(path, **kw))
    f = routing_file(tmp_path)
    prepared = own(f)
    for cell in expand(prepared.recipe)[:2]:
        assert plan(cell.recipe)["info"]["user_files"][str(f)]["rows"] == 150
    assert reads == [str(f)]
    f.write_text(f.read_text().replace("Ticket 0:", "Ticket zero:"))  # a changed file is read again
    plan(prepared.recipe)
    assert reads == [str(f), str(f)]


def _run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_the_written_recipe_runs_from_another_folder_and_another_install(tmp_path):
    """Written with one install of iftkit, that install removed, then run from another folder by another venv
    with iftkit installed elsewhere: the recipe names the packaged defaults, not a path into the first install."""
    ignore = shutil.ignore_patterns("__pycache__")
    first = tmp_path / "first-install"
    shutil.copytree(ROOT / "iftkit", first / "iftkit", ignore=ignore)
    work = tmp_path / "work"
    work.mkdir()
    data = routing_file(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HF_HUB_OFFLINE": "1"}
    write = ("import sys; from iftkit.sweep.own_task import OwnTask, prepare; "
             "print(prepare(OwnTask.from_flags(sys.argv[1])).path)")
    recipe = work / _run([sys.executable, "-c", write, str(data)], work, env | {"PYTHONPATH": str(first)}).strip()
    text = recipe.read_text()
    assert "include: pkg://iftkit.defaults/quickstart_sweep.yaml" in text and str(first) not in text
    shutil.rmtree(first)

    venv, second = tmp_path / "other-venv", tmp_path / "second-install"
    shutil.copytree(ROOT / "iftkit", second / "iftkit", ignore=ignore)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the new venv finds iftkit in the second install, and its dependencies where this interpreter has them
    (Path(site) / "deps.pth").write_text(f"{second}\n{sysconfig.get_paths()['purelib']}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _run([python, "-c", "import iftkit; print(iftkit.__file__)"], elsewhere, env).strip() == str(
        second / "iftkit" / "__init__.py"
    )
    out = _run([python, "-m", "iftkit", "data", "build", "--config", str(recipe), "--out", "mix"], elsewhere, env)
    assert "target task my_tickets: label task" in out and (elsewhere / "mix" / "train.jsonl").is_file()
    status = _run([python, "-m", "iftkit", "sweep", "status", "--config", str(recipe)], elsewhere, env)
    assert "ratio=0.1-seed=1  pending" in status and "0 of 8 cells done" in status


@pytest.mark.slow
def test_target_file_sweep_runs_end_to_end_and_reports_the_user_task(tmp_path, tiny_model_dir):
    f = routing_file(tmp_path)
    cmd = [
        sys.executable,
        "-m",
        "iftkit",
        "sweep",
        "--target-file",
        str(f),
        "--target-name",
        NAME,
        "--config",
        str(tiny_base(tmp_path, tiny_model_dir)),
        "--no-progress",
    ]
    env = {
        "IFTKIT_CACHE": str(tmp_path / "cache"),
        "WANDB_MODE": "offline",
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "primary scorer: task_tolerant, from sweep.primary_scorer" in proc.stdout
    # two training steps on a random tiny model may leave every point at the same in-domain score: then the
    # sweep names no point and says why. Else S1 may show no point above the general floor (the honest
    # outcome), and says so; S2 names one
    root = tmp_path / "runs" / safe_name(f"{NAME}-sweep")
    summary = json.loads((root / "report" / "summary.json").read_text())
    trained = {p["in_domain"] for p in summary["points"] if p["x"] != "base"}
    if len(trained) == 1:
        assert "no recommendation for S1: every trained point scores" in proc.stdout
    else:
        assert "recommended for S1: mix.target_ratio =" in proc.stdout or (
            "no recommendation for S1: no point keeps" in proc.stdout
        )
        assert "recommended for S2: mix.target_ratio =" in proc.stdout
    assert f"[base] target task {NAME}: label task (billing, shipping, technical)" in proc.stdout
    rows = [json.loads(x) for x in (root / "results.jsonl").read_text().splitlines()]
    ind = [r for r in rows if r["suite"] == "in_domain" and r["scorer"] == "task_tolerant" and r["task"] == "__all__"]
    assert {r["cell"] for r in ind} == {"base", "ratio=0.0-seed=0", "ratio=1.0-seed=0"} and all(
        r["n"] == 30 for r in ind
    )
    md = (root / "report" / "report.md").read_text()
    assert "label task (billing, shipping, technical)" in md and "In-domain test set: 30 rows" in md
    # the W&B runs (offline) hold every cell's adapter and the report as artifacts named from the display name
    logged = [a for f in root.glob("wandb/wandb/offline-run-*/*.wandb") for a in summarize(f)["artifacts"]]
    assert sorted((kind, name) for kind, name, _, _ in logged if kind in ("lora-adapter", "sweep-report")) == [
        ("lora-adapter", f"{safe_name(NAME + '-sweep')}-adapter")] * 2 + [
        ("sweep-report", f"{safe_name(NAME + '-sweep')}-report")], logged


def test_training_max_length_is_sized_to_the_rows_and_a_limit_on_the_command_line_is_kept(tmp_path, monkeypatch,
                                                                                          tiny_model_dir, capsys):
    from iftkit.config import load_recipe
    from iftkit.data.mix import plan
    from iftkit.models.load import load_tokenizer
    from iftkit.sweep.grid import expand
    from iftkit.training.dataset import rows_to_dataset
    from iftkit.training.row_length import row_token_length
    from iftkit.training.trainer import make_trainer

    monkeypatch.chdir(tmp_path)
    f = tmp_path / "entities.jsonl"
    answer = ", ".join(f"item {k} is good" for k in range(60))  # some 400 tokens of the tiny tokenizer
    f.write_text("".join(json.dumps({"instruction": f"List the items of note {i}.", "output": f"{i}: {answer}"}) + "\n"
                         for i in range(150)))
    base = tiny_base(tmp_path, tiny_model_dir)  # training.max_length 256, from the quickstart
    written = own(f, base=str(base))
    tok = load_tokenizer(str(tiny_model_dir))
    longest = max(row_token_length(tok, r) for r in plan(expand(written.recipe)[-1].recipe)["train"])
    sized = written.recipe.training.max_length
    assert longest > 256 and sized >= longest and sized % 64 == 0
    assert written.max_length_line.startswith(f"training.max_length: {sized} (longest training row ")
    assert written.max_length_line.endswith("rounded up to a multiple of 64; raised from 256)")
    assert load_recipe(written.path).training.max_length == sized  # the written recipe trains at it
    # the cell with the most target rows trains without a cut row
    cell = expand(written.recipe)[-1].recipe
    trainer = make_trainer(cell, str(tiny_model_dir), tok, rows_to_dataset(plan(cell)["train"]), None, tmp_path / "ck")
    assert trainer.row_lengths.cut == 0 and trainer.row_lengths.longest <= sized
    # a limit the user gives is kept, with a warning; the written recipe is the same as without it
    text = written.path.read_text()
    kept = own(f, base=str(base), overrides=["--training.max_length", "128"])
    assert kept.recipe.training.max_length == 128 and kept.path.read_text() == text
    assert kept.max_length_line.startswith("Warning: training.max_length: 128 (set by --training.max_length; ")
    assert f"raise training.max_length to {sized}" in kept.max_length_line
    # the command says it before anything runs
    from iftkit.cli import main

    capsys.readouterr()
    assert main(["sweep", "--target-file", str(f), "--config", str(base), "--emit", "slurm"]) == 0
    assert written.max_length_line in capsys.readouterr().out.splitlines()
