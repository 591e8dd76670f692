"""Training rows longer than training.max_length: counted where training cuts them, warned, on the card;
and the limit sized to the rows so that none is cut."""

import json
from pathlib import Path

import pytest

from iftkit.config import load_recipe
from iftkit.data.rows import read_rows
from iftkit.models.load import load_tokenizer
from iftkit.testing.mixes import sft_main, tiny_recipe_overrides, write_test_mix
from iftkit.training.dataset import load_split
from iftkit.training.row_length import row_token_length, size_max_length
from iftkit.training.trainer import make_trainer

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.yaml")
LONG = 3  # training rows with a long answer (about 250 tokens in the tiny tokenizer; the others are under 64)


def test_the_limit_is_only_raised_rounded_up_and_a_users_value_is_kept_with_a_warning():
    rows = [40, 59, 300]
    raised = size_max_length(rows, 256)
    assert (raised.max_length, raised.raised) == (320, True)
    assert raised.line == ("training.max_length: 320 (longest training row 300 tokens of 3, rounded up to a "
                           "multiple of 64; raised from 256)")
    fits = size_max_length(rows, 512)
    assert (fits.max_length, fits.raised) == (512, False)  # never lowered
    assert fits.line.startswith("training.max_length: 512 (longest training row 300 tokens of 3")
    kept = size_max_length(rows, 64, "set by --training.max_length")
    assert (kept.max_length, kept.raised) == (64, False)
    assert kept.line.startswith("Warning: training.max_length: 64 (set by --training.max_length; longest")
    assert "1 of 3 rows will be cut; raise training.max_length to 320" in kept.line
    capped = size_max_length(rows, 64, context=128)
    assert capped.max_length == 128 and "capped at the model's context of 128 tokens: 1 of 3 rows" in capped.line


@pytest.mark.parametrize("layout", [
    {"training.padding_free": True},
    {"training.padding_free": False},
    {"training.packing": True},
])
def test_rows_past_the_limit_are_counted_where_training_cuts_them(tiny_model_dir, tmp_path, layout):
    mix = write_test_mix(tmp_path / "mix", n_train=8, n_val=0, long_answers=LONG)
    recipe = load_recipe(QUICK, tiny_recipe_overrides(tiny_model_dir, **layout))  # max_length 64
    tok = load_tokenizer(str(tiny_model_dir))
    lengths = [row_token_length(tok, r) for r in read_rows(mix / "train.jsonl")]
    assert sum(n > 64 for n in lengths) == LONG
    trainer = make_trainer(recipe, str(tiny_model_dir), tok, load_split(mix, "train"), None, tmp_path / "ck")
    got = trainer.row_lengths
    assert (got.cut, got.rows, got.limit, got.longest) == (LONG, 8, 64, max(lengths))
    assert got.warning() == (f"Warning: {LONG} of 8 training rows are longer than training.max_length=64 tokens "
                             f"and were cut; raise training.max_length (longest row {max(lengths)} tokens)")
    # the limit counted is the one applied: no row (or packed sequence) is longer after preparation
    assert max(len(ids) for ids in trainer.train_dataset["input_ids"]) <= 64


def _train(tiny_model_dir, tmp, mix, capsys, **overrides):
    out = tmp / "adapter"
    argv = ["--config", QUICK, "--output_dir", str(out), "--mix-dir", str(mix),
            *tiny_recipe_overrides(tiny_model_dir, **{"training.max_steps": 2, **overrides})]
    capsys.readouterr()
    assert sft_main(argv) == 0
    return json.loads((out / "adapter_card.json").read_text()), (out / "README.md").read_text(), capsys.readouterr().out


def test_cut_rows_are_warned_and_on_the_card_and_a_sized_limit_cuts_none(tiny_model_dir, tmp_path, capsys):
    mix = write_test_mix(tmp_path / "mix", n_train=16, n_val=4, long_answers=LONG)
    card, readme, said = _train(tiny_model_dir, tmp_path / "cut", mix, capsys)
    assert card["truncated_rows"] == LONG and card["max_length"] == 64 and card["longest_row_tokens"] > 64
    assert f"Warning: {LONG} of 16 training rows are longer than training.max_length=64 tokens and were cut" in said
    assert f"| rows cut at max_length | {LONG} (max_length 64, longest row {card['longest_row_tokens']}" in readme

    tok = load_tokenizer(str(tiny_model_dir))
    sized = size_max_length([row_token_length(tok, r) for r in read_rows(mix / "train.jsonl")], 64)
    assert sized.raised and sized.max_length >= card["longest_row_tokens"]
    card, readme, said = _train(tiny_model_dir, tmp_path / "sized", mix, capsys,
                                **{"training.max_length": sized.max_length})
    assert card["truncated_rows"] == 0 and card["max_length"] == sized.max_length
    assert "were cut" not in said
