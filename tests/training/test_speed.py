"""Speed levers (iftkit/training/speed.py) keep what is learnt: same losses and LoRA weights, lever on vs off."""

import pytest
import torch

from iftkit.config import load_recipe
from iftkit.models.load import load_tokenizer
from iftkit.testing.mixes import tiny_recipe_overrides, write_test_mix
from iftkit.training.dataset import load_split
from iftkit.training.trainer import make_trainer

LEVERS_OFF = {
    "training.lora_bf16_inputs": False,
    "training.retain_host_memory": False,
    "training.compile": False,
    "training.lm_head_labelled_only": False,
    "training.packed_attention": False,
}


def _train(tiny_model_dir, tmp_path, tag, **overrides):
    """Train 3 steps on the tiny model; return (trainer, per-step losses, LoRA weights)."""
    recipe = load_recipe(
        "recipes/quickstart.yaml",
        tiny_recipe_overrides(
            tiny_model_dir,
            **{
                **LEVERS_OFF,
                "training.max_steps": 3,
                "training.learning_rate": 0.01,
                "lora.dropout": 0.0,
                "training.save_steps": 100,
                **overrides,
            },
        ),
    )
    mix = write_test_mix(tmp_path / f"mix-{tag}", n_train=12, n_val=0)
    trainer = make_trainer(
        recipe,
        str(tiny_model_dir),
        load_tokenizer(str(tiny_model_dir)),
        load_split(mix, "train"),
        None,
        tmp_path / f"ck-{tag}",
    )
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    lora = {n: p.detach().float().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    return trainer, losses, lora


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def _rel_diff(a: dict, b: dict) -> float:
    """|a - b| / |b| over all LoRA weights (LoRA B starts at zero: its norm is all learnt)."""
    assert a.keys() == b.keys()
    num = sum(float(((a[k] - b[k]) ** 2).sum()) for k in a)
    return (num / sum(float((b[k] ** 2).sum()) for k in b)) ** 0.5


def test_lora_bf16_inputs_is_bit_identical_under_bf16(tiny_model_dir, tmp_path):
    _, ref_losses, ref = _train(tiny_model_dir, tmp_path, "ref", **{"training.bf16": True})
    trainer, losses, lora = _train(
        tiny_model_dir, tmp_path, "fast", **{"training.bf16": True, "training.lora_bf16_inputs": True}
    )
    assert trainer.speed_levers["lora_bf16_inputs"] > 0
    assert len(losses) == 3 and losses == ref_losses
    assert _max_diff(lora, ref) == 0.0


def test_lora_bf16_inputs_leaves_fp32_training_alone(tiny_model_dir, tmp_path):
    trainer, _, _ = _train(
        tiny_model_dir, tmp_path, "fp32", **{"training.bf16": False, "training.lora_bf16_inputs": True}
    )
    assert "lora_bf16_inputs" not in trainer.speed_levers


def test_retain_host_memory_same_training(tiny_model_dir, tmp_path):
    _, ref_losses, ref = _train(tiny_model_dir, tmp_path, "ref", **{"training.bf16": False})
    trainer, losses, lora = _train(
        tiny_model_dir, tmp_path, "keep", **{"training.bf16": False, "training.retain_host_memory": True}
    )
    assert trainer.speed_levers["retain_host_memory"] is True  # glibc's mallopt accepted both settings
    assert losses == ref_losses and _max_diff(lora, ref) == 0.0


def test_lm_head_labelled_only_same_training(tiny_model_dir, tmp_path, monkeypatch):
    from trl.kernels import ChunkedLogProbFunction

    _, ref_losses, ref = _train(tiny_model_dir, tmp_path, "ref", **{"training.bf16": False})
    projected = []
    apply = ChunkedLogProbFunction.apply

    def recording(hidden, *args):
        projected.append(hidden.shape[0])
        return apply(hidden, *args)

    monkeypatch.setattr(ChunkedLogProbFunction, "apply", recording)
    trainer, losses, lora = _train(
        tiny_model_dir, tmp_path, "labelled", **{"training.bf16": False, "training.lm_head_labelled_only": True}
    )
    assert trainer.speed_levers["lm_head_labelled_only"] is True
    # the head saw the completion tokens only: far fewer rows than the batches' tokens
    tokens = trainer.state.num_input_tokens_seen
    assert len(projected) == 3 and 0 < sum(projected) < tokens / 3
    assert losses == pytest.approx(ref_losses, rel=1e-5)
    assert _rel_diff(lora, ref) < 1e-4


def test_packed_attention_same_training(tiny_model_dir, tmp_path):
    from iftkit.training.packed_attention import NAME

    _, ref_losses, ref = _train(tiny_model_dir, tmp_path, "ref", **{"training.bf16": False})
    trainer, losses, lora = _train(
        tiny_model_dir, tmp_path, "packed", **{"training.bf16": False, "training.packed_attention": True}
    )
    assert trainer.speed_levers["packed_attention"] is True
    assert trainer.model.get_base_model().config._attn_implementation == NAME
    assert losses == pytest.approx(ref_losses, rel=1e-5)
    assert _rel_diff(lora, ref) < 1e-4


def test_all_levers_under_bf16_stay_close(tiny_model_dir, tmp_path):
    """The defaults together, in bf16, learn what bf16 without the levers learns."""
    _, ref_losses, ref = _train(tiny_model_dir, tmp_path, "ref", **{"training.bf16": True})
    on = {k: v is False for k, v in LEVERS_OFF.items() if k != "training.compile"}
    trainer, losses, lora = _train(tiny_model_dir, tmp_path, "fast", **{"training.bf16": True, **on})
    assert {"lm_head_labelled_only", "packed_attention", "lora_bf16_inputs"} <= set(trainer.speed_levers)
    assert losses == pytest.approx(ref_losses, rel=2e-2)
    assert _rel_diff(lora, ref) < 5e-2


@pytest.mark.slow
@pytest.mark.parametrize("bf16", [False, True])
def test_compile_on_off_equivalence(tiny_model_dir, tmp_path, isolated_cache, monkeypatch, bf16):
    from torch._dynamo.utils import counters

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # as in a fresh process
    torch._dynamo.reset()
    _, ref_losses, ref = _train(tiny_model_dir, tmp_path, "eager", **{"training.bf16": bf16})
    trainer, losses, lora = _train(
        tiny_model_dir, tmp_path, "compiled", **{"training.bf16": bf16, "training.compile": True}
    )
    n_layers = trainer.model.get_base_model().config.num_hidden_layers
    assert trainer.speed_levers["compile"] == n_layers
    assert counters["stats"]["unique_graphs"] >= 1  # dynamo really compiled the layers
    assert (isolated_cache / "inductor").is_dir()  # kernels cached under the iftkit cache
    tol = 2e-2 if bf16 else 1e-4  # fused bf16 kernels round intermediates differently
    assert losses == pytest.approx(ref_losses, rel=tol)
    assert _rel_diff(lora, ref) < tol
    torch._dynamo.reset()
