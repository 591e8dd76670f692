import os
import subprocess
import sys
from pathlib import Path

import pytest

from iftkit.config import load_recipe, parse_overrides, recipe_hash
from iftkit.core.errors import IftkitError

ROOT = Path(__file__).resolve().parents[2]
ALL_RECIPES = sorted(
    p for p in (ROOT / "recipes").rglob("*.yaml") if "accelerate" not in p.parts and "prompts" not in p.parts
)


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_recipe_validates_and_names_its_command(path):
    recipe = load_recipe(path)
    assert recipe.name
    first = path.read_text().splitlines()[0]
    assert first.startswith("# Run:"), f"{path} must open with the command that runs it"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_include_merges_and_child_wins(tmp_path):
    write(tmp_path, "base.yaml", "lora: {r: 8, alpha: 16}\nmix: {target_ratio: 0.2}\n")
    child = write(tmp_path, "child.yaml", "include: base.yaml\nlora: {r: 4}\n")
    recipe = load_recipe(child)
    assert (recipe.lora.r, recipe.lora.alpha, recipe.mix.target_ratio) == (4, 16, 0.2)


def test_qlora_recipe_inherits_lora_sibling():
    lora = load_recipe(ROOT / "recipes/smollm2/sft/lora.yaml")
    qlora = load_recipe(ROOT / "recipes/smollm2/sft/qlora.yaml")
    assert qlora.model.quantization.mode == "4bit" and qlora.model.quantization.double_quant
    assert qlora.lora == lora.lora and qlora.model.id == lora.model.id


def test_the_7_8b_gpu_recipes_score_ifbench_whole_and_the_cpu_quickstart_does_not():
    gpu = [p for p in ALL_RECIPES if p.parts[-3] in ("llama3.1-8b", "mistral-7b", "qwen2.5-7b")]
    assert len(gpu) == 6
    for path in gpu:
        ev = load_recipe(path).eval
        assert "ifbench" in ev.suites and ev.ifbench_samples is None, path
    assert "ifbench" not in load_recipe(ROOT / "recipes/quickstart.yaml").eval.suites


def test_dotted_overrides_are_typed():
    recipe = load_recipe(
        ROOT / "recipes/quickstart.yaml",
        [
            "--mix.target_ratio",
            "0.1",
            "--training.max_steps=20",
            "--lora.target_modules",
            "[q_proj, v_proj]",
            "--training.packing",
            "true",
        ],
    )
    assert recipe.mix.target_ratio == 0.1
    assert recipe.training.max_steps == 20
    assert recipe.lora.target_modules == ["q_proj", "v_proj"]
    assert recipe.training.packing is True


def test_count_override_replaces_ratio_but_both_in_one_file_is_refused(tmp_path):
    recipe = load_recipe(ROOT / "recipes/quickstart.yaml", ["--mix.target_count", "100"])
    assert recipe.mix.target_count == 100 and recipe.mix.target_ratio is None
    both = write(tmp_path, "both.yaml", "mix: {target_ratio: 0.1, target_count: 10}\n")
    with pytest.raises(IftkitError, match="exactly one of mix.target_ratio and mix.target_count"):
        load_recipe(both)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mix: {target_ratio: 1.5}\n", r"key 'mix.target_ratio' = 1.5: .*less than or equal to 1"),
        ("lora: {r: 0}\n", r"key 'lora.r' = 0: .*greater than 0"),
        (
            "lora: {rank: 8}\n",
            r"unknown key 'lora.rank' \(section 'lora' allows: alpha, bias, dropout, r, target_modules\)",
        ),
        ("modle: {id: x}\n", r"unknown key 'modle'"),
        ("training: {max_steps: many}\n", r"key 'training.max_steps' = 'many': .*integer"),
        (
            "model: {quantization: {mode: 3bit}}\n",
            r"key 'model.quantization.mode' = '3bit': .*'none', '4bit' or '8bit'",
        ),
        ("include: nowhere.yaml\n", r"key 'include': file not found: .*nowhere.yaml"),
        ("lora:\n  r: [1\n", r"bad.yaml:\d+: invalid YAML"),
        # names become folders (runs/<name>, test/<task>.jsonl): a path in one is refused
        ("name: ../x\n", r"key 'name' = '../x': a name cannot hold a path separator"),
        ("name: a/b\n", r"key 'name' = 'a/b': a name cannot hold a path separator"),
        ("name: ''\n", r"key 'name' = '': a name cannot be empty"),
        ("data: {target_task: ../x}\n", r"key 'data.target_task' = '../x': a name cannot hold a path separator"),
        ("data: {target_task: '..'}\n", r"key 'data.target_task' = '..': a name cannot be '.' or '..'"),
    ],
)
def test_bad_recipe_names_key_and_value(tmp_path, text, expected):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(IftkitError, match=expected) as info:
        load_recipe(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_override_key_is_refused():
    with pytest.raises(IftkitError, match="unknown key 'training.max_stepz'"):
        load_recipe(ROOT / "recipes/quickstart.yaml", ["--training.max_stepz", "3"])


def test_override_parsing_errors():
    with pytest.raises(IftkitError, match="needs a value"):
        parse_overrides(["--lora.r"])
    with pytest.raises(IftkitError, match="dotted key"):
        parse_overrides(["--seed", "1"])


def test_missing_recipe_file(tmp_path):
    with pytest.raises(IftkitError, match="recipe not found: .*nope.yaml"):
        load_recipe(tmp_path / "nope.yaml")


def test_recipe_hash_tracks_values():
    a = load_recipe(ROOT / "recipes/quickstart.yaml")
    b = load_recipe(ROOT / "recipes/quickstart.yaml", ["--lora.r", "4"])
    assert recipe_hash(a) == recipe_hash(load_recipe(ROOT / "recipes/quickstart.yaml"))
    assert recipe_hash(a) != recipe_hash(b)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--mix.target_ratio", "1.5"], "mix.target_ratio"),
        (["--lora.bogus", "1"], "lora.bogus"),
    ],
)
def test_cli_bad_recipe_exits_nonzero_with_one_line(args, expected):
    proc = subprocess.run(
        [sys.executable, "-m", "iftkit", "recipe", "check", "--config", str(ROOT / "recipes/quickstart.yaml"), *args],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], proc.stderr


@pytest.mark.parametrize("line, key", [("name: ../x", "name"), ("name: a/b", "name"),
                                       ("data: {target_task: a/b}", "data.target_task")])
def test_recipe_check_refuses_a_name_that_is_a_path_in_one_line(tmp_path, line, key):
    from iftkit.testing.cli_runs import assert_one_line_error, run_iftkit

    path = write(tmp_path, "r.yaml", f"include: {ROOT / 'recipes/quickstart.yaml'}\n{line}\n")
    value = line.split(": ")[-1].strip("{}")
    assert_one_line_error(run_iftkit("recipe", "check", "--config", path),
                          f"iftkit: error: {path}: key '{key}' = '{value}': a name cannot hold a path separator "
                          "('/' or '\\'): it names a folder under runs/")


def test_a_display_name_with_spaces_and_accents_is_valid(tmp_path):
    path = write(tmp_path, "r.yaml", f"include: {ROOT / 'recipes/quickstart.yaml'}\nname: avis clientès\n"
                 "data: {target_task: avis clientès}\n")
    recipe = load_recipe(path)
    assert (recipe.name, recipe.data.target_task) == ("avis clientès", "avis clientès")


def test_cli_missing_recipe_file_exits_nonzero(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "iftkit", "recipe", "check", "--config", str(tmp_path / "x.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.strip() == f"iftkit: error: recipe not found: {tmp_path / 'x.yaml'}"


def test_recipe_check_verifies_a_local_model_path(tmp_path, tiny_model_dir):
    def check(model_id):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "iftkit",
                "recipe",
                "check",
                "--config",
                str(ROOT / "recipes/quickstart.yaml"),
                "--model.id",
                str(model_id),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    for missing in (tmp_path / "models" / "mine", "./models/mine", "~/no-such-iftkit-model", tmp_path / "model.gguf"):
        proc = check(missing)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert lines[0].startswith("iftkit: error: model.id: ") and Path(str(missing)).name in lines[0], lines[0]
    (tmp_path / "empty").mkdir()
    assert "has no config.json" in check(tmp_path / "empty").stderr
    assert check(tiny_model_dir).returncode == 0
    # a hub id is not a path: checked when a model is loaded (offline cache / hub), not here
    assert check("some-org/some-model").returncode == 0


def test_files_named_in_a_recipe_are_relative_to_that_recipe(tmp_path, monkeypatch):
    from iftkit.config import load_recipe

    (tmp_path / "proj" / "recipes" / "data").mkdir(parents=True)
    base = tmp_path / "proj" / "recipes" / "base.yaml"
    base.write_text("data: {general_files: [data/general.jsonl]}\neval: {instruction_set: builtin}\n")
    child = tmp_path / "proj" / "recipes" / "data" / "mine.yaml"
    child.write_text(
        "include: ../base.yaml\ndata: {target_files: [rows.tsv]}\nmodel: {id: ./my-model}\n"
        "eval: {judge: {prompt_file: ../prompts/p.yaml}}\ntraining: {output_dir: out/adapter}\n"
    )
    monkeypatch.chdir(tmp_path)
    r = load_recipe("proj/recipes/data/mine.yaml", ["--data.synthetic_format_files", "[extra.jsonl]"])
    root = (tmp_path / "proj" / "recipes").resolve()
    assert r.data.general_files == [str(root / "data" / "general.jsonl")]  # relative to base.yaml, the file naming it
    assert r.data.target_files == [str(root / "data" / "rows.tsv")]
    assert r.model.id == str(root / "data" / "my-model")
    assert r.eval.judge.prompt_file == str(root / "prompts" / "p.yaml")
    assert r.eval.instruction_set == "builtin"  # a name, not a file
    assert r.training.output_dir == "out/adapter"  # outputs stay relative to the working directory
    assert r.data.synthetic_format_files == ["extra.jsonl"]  # command-line paths too
    assert load_recipe("proj/recipes/data/mine.yaml", ["--model.id", "org/name"]).model.id == "org/name"


def test_any_sft_config_field_passes_through_the_training_section(tmp_path):
    from iftkit.config import load_recipe
    from iftkit.training.sft_inputs import sft_config

    path = tmp_path / "r.yaml"
    path.write_text("training: {optim: adafactor, max_grad_norm: 0.5, learning_rate: 3.0e-4}\n")
    r = load_recipe(path)
    cfg = sft_config(r, tmp_path / "ckpt", [], has_eval=False)
    assert (cfg.optim, cfg.max_grad_norm, cfg.learning_rate) == ("adafactor", 0.5, 3.0e-4)
    assert cfg.output_dir == str(tmp_path / "ckpt")  # iftkit's own folders win


def test_a_training_key_that_is_not_an_sft_config_field_is_one_line(tmp_path):
    from iftkit.config import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text("training: {max_grad_nrom: 0.5}\n")
    with pytest.raises(
        IftkitError,
        match="unknown key 'training.max_grad_nrom' \\(neither an iftkit training key nor a field of TRL's SFTConfig",
    ):
        load_recipe(path)
    path.write_text("training: {report_to: [tensorboard]}\n")
    with pytest.raises(IftkitError, match="key 'training.report_to' is set by iftkit itself"):
        load_recipe(path)


@pytest.mark.parametrize("value, shown", [("autoo", "'autoo'"), ("-3", "-3"), ("0", "0"), ("true", "True")])
def test_the_in_domain_limit_is_auto_or_a_positive_count_said_in_one_line(value, shown):
    with pytest.raises(IftkitError) as err:
        load_recipe(ROOT / "recipes" / "quickstart.yaml", ["--eval.in_domain_max_new_tokens", value])
    msg = str(err.value)
    assert f"key 'eval.in_domain_max_new_tokens' = {shown}: must be 'auto' or a positive number of tokens" in msg
    assert "literal" not in msg
    for ok, want in (("auto", "auto"), ("40", 40)):
        got = load_recipe(ROOT / "recipes" / "quickstart.yaml", ["--eval.in_domain_max_new_tokens", ok])
        assert got.eval.in_domain_max_new_tokens == want
