"""scripts/bench_gpu.py: the 7-8B shapes from the architecture facts, trained with --tiny on CPU, simulated memory."""

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_gpu  # noqa: E402
import gpu_shapes  # noqa: E402

# published parameter counts of the three models (their model cards / safetensors indexes)
PUBLISHED_PARAMS = {"llama3.1-8b": 8_030_261_248, "qwen2.5-7b": 7_615_616_512, "mistral-7b": 7_248_023_552}


@pytest.mark.parametrize("arch", sorted(PUBLISHED_PARAMS))
def test_architecture_facts_give_the_published_parameter_count(arch):
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(gpu_shapes.arch_config(arch))
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[arch]


def test_every_gpu_recipe_has_its_architecture():
    for arch, paths in gpu_shapes.RECIPES.items():
        for path in paths:
            assert gpu_shapes.arch_for_recipe(str(ROOT / path)) == arch


@pytest.mark.slow
def test_tiny_all_trains_lora_and_qlora_through_iftkit_and_times_generation(tmp_path, capsys):
    steps, warmup, batch, seq = 2, 1, 2, 64
    results = []
    train_shape = bench_gpu.train_shape
    bench_gpu.train_shape = lambda recipe, args: results.append(train_shape(recipe, args)) or results[-1]
    try:
        rc = bench_gpu.main(["--tiny", "--all", "--workdir", str(tmp_path), "--steps", str(steps), "--warmup",
                             str(warmup), "--batch", str(batch), "--seq", str(seq), "--gen-prompts", "3",
                             "--gen-prompt-len", "5", "9", "--gen-new-tokens", "4"])
    finally:
        bench_gpu.train_shape = train_shape
    out = capsys.readouterr().out
    assert rc == 0
    assert [r["method"] for r in results] == ["lora", "qlora"]
    for r in results:
        assert r["layers"] == 2 and r["steps"] == warmup + steps and r["timed_steps"] == steps
        assert r["tokens"] == (warmup + steps) * batch * seq  # padding-free rows of exactly seq tokens
        assert r["checkpointing"] is True  # the recipe's setting, as on the GPU
        assert r["lora_changed"] and all(torch.isfinite(torch.tensor(r["losses"])))
        assert r["peak_allocated"] > r["weights_bytes"] > 0 and r["tokens_per_s"] > 0
    assert [r["quantized_4bit"] for r in results] == [False, True]
    assert results[1]["weights_bytes"] < results[0]["weights_bytes"]
    assert out.count("| `recipes/llama3.1-8b/sft/") == 2
    assert "3,083" not in out  # torchtune's 8B figures are not set beside a 2-layer run
    assert "| iftkit greedy loop |" in out and "| model.generate |" in out and "| vLLM | skipped: no CUDA" in out


def test_without_cuda_a_full_size_run_says_what_to_do(capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the full-size run would start")
    assert bench_gpu.main(["--steps", "1"]) == 2
    assert "--tiny" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["lora", "qlora"])
def test_simulation_from_one_layer_predicts_the_measured_two_layer_peak(tmp_path, monkeypatch, recipe):
    """The method of --simulate, checked where both sides can be measured: the tiny shape on CPU."""
    import argparse

    import trl.trainer.utils
    from gpu_memory import simulate

    # a small vocabulary tile, so that the decoder layers, not the LM head, make the peak being predicted
    monkeypatch.setattr(trl.trainer.utils, "_CHUNKED_LOGPROB_CHUNK_SIZE", 64)
    path = gpu_shapes.RECIPES["llama3.1-8b"][recipe == "qlora"]
    batch, seq = 2, 256
    sim = simulate("llama3.1-8b", path, batch, seq, tmp_path, 1.0, tiny=True)
    args = argparse.Namespace(tiny=True, workdir=str(tmp_path), warmup=1, steps=1, batch=batch, seq=seq, labelled=1.0)
    measured = bench_gpu.train_shape(path, args)
    assert sim["layers"] == 2 and sim["checkpointing"]
    assert sim["peak_at"] != "LM head"
    # the counted weights are the loaded ones, 4-bit packing and quantisation state included
    assert sim["weights"] + sim["lora"] == pytest.approx(measured["weights_bytes"], rel=0.01)
    assert sim["peak"] == pytest.approx(measured["peak_allocated"], rel=0.05)
