"""QLoRA on a real GPU: 4-bit load on the device, 2 training steps, merge (skipped without CUDA).

Run on a GPU machine with `.venv/bin/python -m pytest -q tests/gpu` (or `scripts/gpu_check.sh`).
"""

import json
import sys
from pathlib import Path

import pytest
import torch

from iftkit.testing.mixes import sft_main, tiny_recipe_overrides, write_test_mix

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="needs a CUDA GPU: bitsandbytes' 4-bit CUDA kernels, TRL's Triton head, max_memory_allocated",
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from iftkit.testing.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("small"), hidden_size=128)


QLORA = ROOT / "recipes/smollm2/sft/qlora.yaml"


def _overrides(model):
    return tiny_recipe_overrides(model, **{"training.max_steps": 2, "training.learning_rate": 0.01,
                                           "training.bf16": True})


def test_qlora_trainer_quantises_on_the_gpu_and_keeps_trls_head(small_model, tmp_path):
    from iftkit.config import load_recipe
    from iftkit.models.load import load_tokenizer
    from iftkit.training.dataset import load_split
    from iftkit.training.trainer import make_trainer

    mix = write_test_mix(tmp_path / "mix", n_train=8, n_val=0)
    recipe = load_recipe(str(QLORA), _overrides(small_model))
    trainer = make_trainer(recipe, str(small_model), load_tokenizer(str(small_model)), load_split(mix, "train"), None,
                           tmp_path / "ck")
    quantised = [p for p in trainer.model.parameters() if type(p).__name__ == "Params4bit"]
    assert quantised and all(p.device.type == "cuda" for p in quantised)
    assert trainer.speed_levers["lm_head_labelled_only"] == "trl"
    torch.cuda.reset_peak_memory_stats()
    trainer.train()
    assert trainer.state.global_step == 2 and torch.cuda.max_memory_allocated() > 0
    lora_b = [p for n, p in trainer.model.named_parameters() if "lora_B" in n]
    assert lora_b and any(float(p.detach().abs().sum()) > 0 for p in lora_b)


def test_qlora_two_steps_then_merge_matches_the_adapter(small_model, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from iftkit.cli import main

    mix = write_test_mix(tmp_path / "mix", n_train=8, n_val=0)
    out = tmp_path / "adapter"
    assert sft_main(["--config", str(QLORA), "--output_dir", str(out), "--mix-dir", str(mix),
                     *_overrides(small_model)]) == 0
    card = json.loads((out / "adapter_card.json").read_text())
    assert card["method"] == "qlora-4bit" and card["global_step"] == 2
    assert main(["adapter", "merge", str(out), "--out", str(tmp_path / "merged")]) == 0
    ids = torch.tensor([[1, 5, 9, 30, 44, 2]], device="cuda")
    merged = AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged")).to("cuda")
    base = AutoModelForCausalLM.from_pretrained(str(small_model)).to("cuda")
    with torch.no_grad():
        before = base(ids).logits.clone()
        with_adapter = PeftModel.from_pretrained(base, str(out))(ids).logits
        after = merged(ids).logits
    assert not torch.allclose(before, with_adapter, atol=1e-4)  # the two steps changed the model
    assert torch.allclose(after, with_adapter, atol=1e-4)


def test_bench_gpu_tiny_all_on_the_device(tmp_path, capsys):
    """The GPU benchmark's own code path on CUDA at the 2-layer shape: peak memory from the device, vLLM if present."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_gpu

    assert bench_gpu.main(["--tiny", "--all", "--workdir", str(tmp_path), "--steps", "2", "--warmup", "1",
                           "--gen-prompts", "4", "--gen-new-tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert out.count("| `recipes/llama3.1-8b/sft/") == 2 and "| iftkit greedy loop |" in out
    assert "reserved -," not in out  # reserved comes from the CUDA allocator
