import json

import pytest

from iftkit.data.rows import write_rows


def make_adapter(base_dir, out_dir, seed: int, card_extra=None):
    """A real PEFT LoRA adapter on the tiny model, with non-zero weights so it changes outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    peft = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out_dir)
    card = {
        "base_model": str(base_dir),
        "base_model_path": str(base_dir),
        "target_task": "sentiment",
        "status": "complete",
        "wandb": None,
        **(card_extra or {}),
    }
    (out_dir / "adapter_card.json").write_text(json.dumps(card))
    return out_dir


@pytest.fixture(scope="session")
def tiny_adapters(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return [make_adapter(tiny_model_dir, root / name, seed) for name, seed in (("ratio-0.1", 1), ("ratio-0.9", 2))]


@pytest.fixture
def mix_dir(tmp_path):
    """A mix dir laid out as the contract says; test rows from the task catalog."""
    from iftkit.data.tasks import get_task

    d = tmp_path / "mix"
    write_rows(d / "test" / "sentiment.jsonl", get_task("sentiment").generate(3, seed=11))
    write_rows(d / "test" / "arithmetic.jsonl", get_task("arithmetic").generate(2, seed=11))
    (d / "manifest.json").write_text(json.dumps({"target_task": "sentiment"}))
    return d
