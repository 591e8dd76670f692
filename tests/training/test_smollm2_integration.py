"""The real SmolLM2 on the quickstart recipe: a few LoRA steps change what the model answers."""

import json
from pathlib import Path

import pytest

from iftkit.testing.mixes import sft_main, write_test_mix

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_quickstart_lora_changes_generations(smollm2_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from iftkit.models.chat.local import TransformersChat
    from iftkit.models.chat.types import GenConfig

    mix = write_test_mix(tmp_path / "mix", n_train=16, n_val=0)
    out = tmp_path / "adapter"
    assert (
        sft_main(
            [
                "--config",
                str(ROOT / "recipes/quickstart.yaml"),
                "--output_dir",
                str(out),
                "--mix-dir",
                str(mix),
                "--training.max_steps",
                "4",
                "--training.learning_rate",
                "0.002",
                "--tracking.mode",
                "disabled",
            ]
        )
        == 0
    )
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and card["global_step"] == 4
    tok = AutoTokenizer.from_pretrained(str(out))
    prompt = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Review 7: the product was sad. Sentiment?"},
    ]
    base = AutoModelForCausalLM.from_pretrained(card["base_model_path"])
    [before] = TransformersChat.from_loaded(base, tok).complete_many([prompt], GenConfig(12))
    tuned = PeftModel.from_pretrained(base, str(out))
    [after] = TransformersChat.from_loaded(tuned, tok).complete_many([prompt], GenConfig(12))
    before, after = before.text, after.text
    assert after != before
