"""A base model without a chat template (Gemma 3 style: the tokenizer adds BOS, sliding-window
attention) trains through train/sft.py, saves the format it learnt as its chat template, names it
in the card, and eval renders the adapter's prompts in exactly that format."""

import json
from pathlib import Path

from transformers import AutoTokenizer

from iftkit.config.schema import ModelConfig
from iftkit.models.chat.local import TransformersChat
from iftkit.models.chat.types import GenConfig
from iftkit.models.chat_format import PLAIN_TURNS, plain_turns_template, prompt_ids
from iftkit.testing.mixes import sft_main, tiny_recipe_overrides, write_test_mix
from iftkit.testing.tokenizer_styles import save_style_model

ROOT = Path(__file__).resolve().parents[2]


def test_base_model_without_template_trains_and_is_scored_in_its_format(tmp_path):
    model_dir = save_style_model(tmp_path / "gemma-base", "gemma_base")
    assert not AutoTokenizer.from_pretrained(model_dir).chat_template
    mix = write_test_mix(tmp_path / "mix", n_train=8, n_val=0)
    out = tmp_path / "adapter"
    argv = ["--config", str(ROOT / "recipes/quickstart.yaml"), "--output_dir", str(out), "--mix-dir", str(mix),
            *tiny_recipe_overrides(model_dir, **{"training.max_steps": 2})]
    assert sft_main(argv) == 0

    saved = AutoTokenizer.from_pretrained(out)  # plain transformers (and vLLM) users get the same format
    assert saved.chat_template == plain_turns_template(bos=True)
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["prompt_format"] == PLAIN_TURNS
    assert f"Conversation format: {PLAIN_TURNS}" in (out / "README.md").read_text()

    row = json.loads((mix / "train.jsonl").read_text().splitlines()[0])
    chat = TransformersChat(ModelConfig(id=str(model_dir)), str(model_dir), adapter_path=str(out))
    model, tok = chat.load()
    seen = []
    base = model.get_base_model()  # generate runs the base model (LoRA layers inside it)
    handle = base.register_forward_pre_hook(lambda m, a, k: seen.append(k["input_ids"][0].tolist()), with_kwargs=True)
    try:
        chat.complete_many([row["prompt"]], GenConfig(max_new_tokens=2))
    finally:
        handle.remove()
    assert seen[0] == prompt_ids(saved, row["prompt"]) and seen[0][0] == saved.bos_token_id
    assert chat.identity()["prompt_format"] is None  # the adapter's saved template (in its fingerprint), as shipped
    # the base model alone: cached answers of the format before chat_format existed are not served again
    base_chat = TransformersChat(ModelConfig(id=str(model_dir)), str(model_dir))
    assert base_chat.identity()["prompt_format"] == PLAIN_TURNS
