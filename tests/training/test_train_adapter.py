"""End to end on the tiny model: train/sft.py -> adapter + card + offline W&B run; rerun skips; merge."""

import glob
import json
from pathlib import Path

import pytest
import torch

from iftkit.testing.mixes import sft_main, tiny_recipe_overrides, write_test_mix
from iftkit.training.wandb_offline import summarize, written_out

ROOT = Path(__file__).resolve().parents[2]

SECRET = "sk-test-secret-value-123456"


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    mix = write_test_mix(tmp / "mix")
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", SECRET)
    out = tmp / "adapter"
    argv = [
        "--config",
        str(ROOT / "recipes/quickstart.yaml"),
        "--output_dir",
        str(out),
        "--mix-dir",
        str(mix),
        *tiny_recipe_overrides(
            tiny_model_dir,
            **{
                "tracking.mode": "offline",
                "tracking.dir": str(tmp / "wb"),
                "training.max_steps": 6,
                "training.learning_rate": 0.01,
            },
        ),
    ]
    assert sft_main(argv) == 0
    written_out()  # the run's file is read back by the tests below
    mp.undo()
    return {"out": out, "argv": argv, "tmp": tmp, "mix": mix}


def test_adapter_dir_and_card(trained, tiny_model_dir):
    out = trained["out"]
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "tokenizer.json",
        "chat_template.jinja",
        "adapter_card.json",
        "README.md",
    ):
        assert (out / name).is_file(), name
    assert not (out / "checkpoints").exists()
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["status"] == "complete"
    assert card["base_model"] == str(tiny_model_dir)
    assert card["recipe"]["name"] == "quickstart" and card["recipe"]["training"]["max_steps"] == 6
    assert (
        card["data"]["hashes"]["train"] == json.loads((trained["mix"] / "manifest.json").read_text())["hashes"]["train"]
    )
    assert card["data"]["counts"]["train"] == 32 and card["target_task"] == "sentiment" and card["target_ratio"] == 0.5
    assert card["hardware"]["cpu"] and "kernel_flags" in card["hardware"] and card["versions"]["torch"]
    assert card["global_step"] == 6 and card["tokens_seen"] > 6 * 4 * 10
    assert card["train_loss"] > 0 and card["val_loss"] > 0 and card["wall_time_s"] > 0
    assert card["versions"]["trl"] and card["versions"]["peft"] and card["git_commit"]
    assert card["wandb"]["mode"] == "offline" and card["wandb"]["run_id"]
    assert "quickstart" in (out / "README.md").read_text()
    assert SECRET not in (out / "adapter_card.json").read_text()


def test_adapter_loads_with_peft_and_changes_outputs(trained, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([[1, 5, 9, 30, 44, 2]])
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    before = base(ids).logits.detach().clone()
    tuned = PeftModel.from_pretrained(base, str(trained["out"]))
    after = tuned(ids).logits.detach()
    assert not torch.allclose(before, after, atol=1e-4)


def test_offline_wandb_run_has_metrics_config_and_artifact(trained):
    card = json.loads((trained["out"] / "adapter_card.json").read_text())
    files = glob.glob(str(trained["tmp"] / "wb" / "wandb" / f"offline-run-*-{card['wandb']['run_id']}" / "*.wandb"))
    assert len(files) == 1
    run = summarize(files[0])
    losses = [h["train/loss"] for h in run["history"] if "train/loss" in h]
    assert len(losses) == 6
    assert run["config"]["recipe"]["name"] == "quickstart"
    assert run["config"]["recipe"]["eval"]["judge"]["api_key_env"] == "OPENAI_API_KEY"
    assert SECRET.encode() not in Path(files[0]).read_bytes()
    ((kind, name, meta, paths),) = run["artifacts"]
    assert kind == "lora-adapter" and "adapter_model.safetensors" in paths and "adapter_card.json" in paths
    assert meta["target_ratio"] == 0.5 and meta["data_hashes"]["train"] == card["data"]["hashes"]["train"]


def test_finished_adapter_is_not_retrained_unless_overwrite(trained, capsys):
    card_path = trained["out"] / "adapter_card.json"
    before = card_path.read_text()
    assert sft_main(trained["argv"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert card_path.read_text() == before
    assert sft_main(trained["argv"] + ["--overwrite", "--tracking.mode", "disabled"]) == 0
    card = json.loads(card_path.read_text())
    assert card["wandb"] is None and card["global_step"] == 6


def test_merge_writes_weights_that_plain_transformers_loads(trained, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from iftkit.cli import main as cli

    out = tmp_path / "merged"
    assert cli(["adapter", "merge", str(trained["out"]), "--out", str(out)]) == 0
    merged = AutoModelForCausalLM.from_pretrained(str(out))
    card = json.loads((trained["out"] / "adapter_card.json").read_text())
    peft_model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(card["base_model_path"]), str(trained["out"])
    )
    ids = torch.tensor([[1, 5, 9, 30, 44, 2]])
    assert torch.allclose(merged(ids).logits, peft_model(ids).logits, atol=1e-4)
    assert cli(["adapter", "merge", str(trained["out"]), "--out", str(out)]) == 2  # refuses to overwrite


def test_bad_mix_dir_is_one_line_error(tiny_model_dir, tmp_path, capsys):
    argv = [
        "--config",
        str(ROOT / "recipes/quickstart.yaml"),
        "--output_dir",
        str(tmp_path / "a"),
        "--mix-dir",
        str(tmp_path / "nope"),
        *tiny_recipe_overrides(tiny_model_dir),
    ]
    assert sft_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "nope" in err and "train.jsonl" in err and len(err.splitlines()) == 1


def test_early_stopping_on_val_loss_stops_before_max_steps(tiny_model_dir, tmp_path):
    mix = write_test_mix(tmp_path / "mix")
    out = tmp_path / "a"
    argv = [
        "--config",
        str(ROOT / "recipes/quickstart.yaml"),
        "--output_dir",
        str(out),
        "--mix-dir",
        str(mix),
        *tiny_recipe_overrides(
            tiny_model_dir,
            **{
                "training.max_steps": 200,
                "training.eval_steps": 2,
                "training.early_stopping_patience": 1,
                "training.learning_rate": 0.5,
            },
        ),
    ]
    assert sft_main(argv) == 0
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["global_step"] < 200
    assert card["val_loss"] is not None


def test_missing_model_fails_before_the_mix_is_built(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "a"
    argv = [
        "--config",
        str(ROOT / "recipes/quickstart.yaml"),
        "--output_dir",
        str(out),
        *tiny_recipe_overrides(tiny_model_dir),
        "--model.id",
        str(tmp_path / "no-model"),
    ]
    assert sft_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"train/sft.py: error: model.id: path not found: {tmp_path / 'no-model'}"
    assert not out.exists()  # no mix built, no adapter folder started
