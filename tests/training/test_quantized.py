"""QLoRA (bitsandbytes 4-bit NF4, double quant) and 8-bit LoRA train on this CPU."""

import json
from pathlib import Path

import pytest
import torch

from iftkit.testing.mixes import sft_main, tiny_recipe_overrides, write_test_mix

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny128(tmp_path_factory):
    # bitsandbytes quantises in blocks of 64 values: the 32-wide fixture model is too narrow
    from iftkit.testing.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny128"), hidden_size=128)


@pytest.mark.parametrize("mode,method", [("4bit", "qlora-4bit"), ("8bit", "lora-8bit")])
def test_quantized_base_trains_an_adapter(tiny128, tmp_path, mode, method):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    mix = write_test_mix(tmp_path / "mix", n_train=16)
    out = tmp_path / "adapter"
    argv = ["--config", str(ROOT / "recipes/smollm2/sft/qlora.yaml"), "--output_dir", str(out), "--mix-dir", str(mix),
            *tiny_recipe_overrides(tiny128, **{"model.quantization.mode": mode, "training.max_steps": 3,
                                               "training.learning_rate": 0.01})]
    assert sft_main(argv) == 0
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["method"] == method and card["recipe"]["model"]["quantization"]["double_quant"] is True
    base = AutoModelForCausalLM.from_pretrained(str(tiny128))
    ids = torch.tensor([[1, 5, 9, 30, 44, 2]])
    before = base(ids).logits.detach().clone()
    after = PeftModel.from_pretrained(base, str(out))(ids).logits.detach()
    assert not torch.allclose(before, after, atol=1e-4)
