"""What iftkit chooses on a CUDA machine, checked here with the device faked (the kernels themselves need a GPU)."""

import pytest
import torch

from iftkit.config import load_recipe
from iftkit.models.load import load_tokenizer
from iftkit.testing.mixes import tiny_recipe_overrides, write_test_mix
from iftkit.training import label_head
from iftkit.training.dataset import load_split
from iftkit.training.trainer import make_trainer


@pytest.mark.parametrize("triton", [True, False])
def test_trl_head_is_kept_exactly_where_trl_compacts(monkeypatch, triton):
    from trl.kernels import chunked_logprob

    monkeypatch.setattr(chunked_logprob, "_TRITON_AVAILABLE", triton)
    assert label_head.trl_head_compacts(torch.device("cuda")) is triton
    assert label_head.trl_head_compacts(torch.device("cuda", 1)) is triton
    assert label_head.trl_head_compacts("cpu") is False


def _train(model_dir, tmp_path, tag):
    recipe = load_recipe(
        "recipes/quickstart.yaml",
        tiny_recipe_overrides(model_dir, **{"training.max_steps": 3, "training.learning_rate": 0.01,
                                            "training.bf16": False, "lora.dropout": 0.0,
                                            "training.save_steps": 100, "training.packed_attention": False}),
    )
    mix = write_test_mix(tmp_path / f"mix-{tag}", n_train=12, n_val=0)
    trainer = make_trainer(recipe, str(model_dir), load_tokenizer(str(model_dir)), load_split(mix, "train"), None,
                           tmp_path / f"ck-{tag}")
    trainer.train()
    return trainer, [h["loss"] for h in trainer.state.log_history if "loss" in h]


def test_cuda_keeps_trls_fused_head_and_trains_the_same(tiny_model_dir, tmp_path, monkeypatch):
    """On a Triton device the trainer leaves TRL's head in place; both heads give the same losses."""
    cpu_trainer, cpu_losses = _train(tiny_model_dir, tmp_path, "cpu")
    assert cpu_trainer.speed_levers["lm_head_labelled_only"] is True  # iftkit's head on CPU
    seen = []

    def faked(device):
        seen.append(torch.device(device).type)
        return True  # as on CUDA with Triton

    monkeypatch.setattr(label_head, "trl_head_compacts", faked)
    patched = []
    monkeypatch.setattr(label_head, "add_label_lm_head", lambda model: patched.append(model) or True)
    trainer, losses = _train(tiny_model_dir, tmp_path, "cuda")
    assert seen == ["cpu"]  # asked about the trainer's own device
    assert patched == [] and trainer.speed_levers["lm_head_labelled_only"] == "trl"
    assert losses == pytest.approx(cpu_losses, rel=1e-5)


@pytest.mark.parametrize("cuda,expected", [(True, {"": 0}), (False, None)])
def test_quantized_base_loads_onto_the_gpu_for_bitsandbytes_cuda_kernels(monkeypatch, cuda, expected):
    """4-bit weights are placed on this rank's GPU at load time, so bitsandbytes quantises and computes on CUDA."""
    from iftkit.training import sft_inputs

    class Loaded(Exception):
        pass

    calls = []

    def fake_load_model(cfg, path=None, device_map=None):
        calls.append((cfg.quantization.mode, device_map))
        raise Loaded

    monkeypatch.setattr(sft_inputs, "cuda_available", lambda: cuda)
    monkeypatch.setattr(sft_inputs, "load_model", fake_load_model)
    recipe = load_recipe("recipes/llama3.1-8b/sft/qlora.yaml", ["--tracking.mode", "disabled"])
    with pytest.raises(Loaded):
        sft_inputs.load_base_for_training(recipe, "unused")
    assert calls == [("4bit", expected)]
