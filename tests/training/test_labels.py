"""Completion-only loss: prompt (system + user + template) tokens carry -100, completion tokens do not."""

import pytest
import torch

from iftkit.config import load_recipe
from iftkit.models.load import load_tokenizer
from iftkit.testing.mixes import WORDS, tiny_recipe_overrides, write_test_mix
from iftkit.training.dataset import load_split
from iftkit.training.trainer import make_trainer


def _first_batch(tiny_model_dir, tmp_path, **overrides):
    mix = write_test_mix(tmp_path / "mix", n_train=8, n_val=0)
    recipe = load_recipe("recipes/quickstart.yaml", tiny_recipe_overrides(tiny_model_dir, **overrides))
    tok = load_tokenizer(str(tiny_model_dir))
    trainer = make_trainer(recipe, str(tiny_model_dir), tok, load_split(mix, "train"), None, tmp_path / "ck")
    batch = next(iter(trainer.get_train_dataloader()))
    return tok, batch


@pytest.mark.parametrize("packing", [False, True])
def test_prompt_tokens_are_masked_and_completion_tokens_are_not(tiny_model_dir, tmp_path, packing):
    tok, batch = _first_batch(tiny_model_dir, tmp_path, **{"training.packing": packing})
    ids, labels = batch["input_ids"], batch["labels"]
    assert (labels != -100).any()
    # every supervised stretch decodes to an answer followed by the end-of-turn token, never prompt text
    for row_ids, row_labels in zip(ids.tolist(), labels.tolist()):
        supervised = tok.decode([i for i, lab in zip(row_ids, row_labels) if lab != -100])
        assert "Review" not in supervised and "upper case" not in supervised and "Answer in one word" not in supervised
        assert "<|im_start|>" not in supervised
        answers = {"positive", "negative"} | {w.upper() for w in WORDS}
        pieces = [p.strip() for p in supervised.split("<|im_end|>") if p.strip()]
        assert pieces and all(p in answers for p in pieces), supervised
        for i, lab in zip(row_ids, row_labels):
            if lab != -100:
                assert lab == i  # labels are the inputs themselves (the model shifts them)
    # the first supervised token of a row is right after "<|im_start|>assistant\n"
    row_ids, row_labels = ids[0].tolist(), labels[0].tolist()
    first = next(k for k, lab in enumerate(row_labels) if lab != -100)
    assert tok.decode(row_ids[:first]).endswith("<|im_start|>assistant\n")


def test_train_on_inputs_supervises_prompt_tokens(tiny_model_dir, tmp_path):
    tok, batch = _first_batch(tiny_model_dir, tmp_path, **{"training.completion_only_loss": False})
    row_ids, row_labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    supervised = tok.decode([i for i, lab in zip(row_ids, row_labels) if lab != -100])
    assert "Write the word" in supervised or "Review" in supervised


def test_padding_free_batches_have_no_padding_and_respect_max_length(tiny_model_dir, tmp_path):
    tok, batch = _first_batch(tiny_model_dir, tmp_path, **{"training.padding_free": True, "training.max_length": 48})
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1  # rows concatenated
    pos = batch["position_ids"][0].tolist()
    starts = [i for i, p in enumerate(pos) if p == 0]
    assert len(starts) == 4  # the 4 rows of the batch, each restarting its positions
    lengths = [b - a for a, b in zip(starts, starts[1:] + [len(pos)])]
    assert max(lengths) <= 48


def test_padding_free_loss_equals_padded_loss(tiny_model_dir, tmp_path):
    # packed rows must not attend to each other: same batch, same loss as the padded layout
    losses = []
    for pf in (False, True):
        recipe = load_recipe("recipes/quickstart.yaml", tiny_recipe_overrides(
            tiny_model_dir, **{"training.padding_free": pf, "training.bf16": False, "lora.dropout": 0.0}))
        mix = write_test_mix(tmp_path / f"mix{pf}", n_train=8, n_val=0)
        trainer = make_trainer(recipe, str(tiny_model_dir), load_tokenizer(str(tiny_model_dir)),
                               load_split(mix, "train"), None, tmp_path / f"ck{pf}")
        batch = next(iter(trainer.get_train_dataloader()))
        trainer.model.eval()
        with torch.no_grad():
            losses.append(float(trainer.compute_loss(trainer.model, dict(batch))))
    assert abs(losses[0] - losses[1]) < 1e-4, losses
