"""The 7-8B recipes' model shapes, built with random weights from the architecture facts in the repo.

`recipes/gpu/architectures/<name>.json` holds each shipped GPU recipe's config.json facts (hidden
size, layers, heads, KV heads, intermediate size, vocabulary, rope). `scripts/bench_gpu.py` trains
and `scripts/gpu_memory.py` simulates these shapes through iftkit's own training path: the
recipe's model section loads a random checkpoint written here, exactly as it would load the
real weights (same dtype, same 4-bit quantisation, same LoRA, same SFTTrainer).
"""

import hashlib
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCH_DIR = ROOT / "recipes" / "gpu" / "architectures"
# the recipes the GPU benchmark knows: architecture name -> (LoRA recipe, QLoRA recipe)
RECIPES = {
    name: (f"recipes/{name}/sft/lora.yaml", f"recipes/{name}/sft/qlora.yaml")
    for name in ("llama3.1-8b", "qwen2.5-7b", "mistral-7b")
}
# --tiny: the same architecture at a size a CPU trains in seconds (bitsandbytes quantises in blocks of 64)
TINY = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "vocab_size": 512,
}

# on a CPU, iftkit takes the path training takes on CUDA: SDPA attention, TRL's fused LM head (iftkit's
# choice there), bf16. Its CPU-only levers (packed attention, the labelled-rows head) would change what is measured
CUDA_PATH_ON_CPU = [
    "--training.packed_attention", "false",
    "--training.lm_head_labelled_only", "false",
    "--training.retain_host_memory", "false",
    "--training.bf16", "true",
]


def arch_facts(name: str) -> dict:
    path = ARCH_DIR / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in ARCH_DIR.glob("*.json")))
        raise SystemExit(f"bench_gpu: no architecture file {path} (known: {known})")
    return json.loads(path.read_text())


def arch_config(name: str, **overrides):
    """The transformers config of architecture `name`, with `overrides` (e.g. fewer layers) applied."""
    from transformers import AutoConfig

    facts = {k: v for k, v in arch_facts(name).items() if not k.startswith("_")}
    facts.update(overrides)
    return AutoConfig.for_model(facts.pop("model_type"), **facts)


def arch_for_recipe(recipe_path: str) -> str:
    """The architecture a recipe trains: the one whose `_model_id` is the recipe's model.id."""
    from iftkit.config import load_recipe

    model_id = load_recipe(recipe_path, ["--tracking.mode", "disabled"]).model.id
    for path in sorted(ARCH_DIR.glob("*.json")):
        if json.loads(path.read_text()).get("_model_id") == model_id:
            return path.stem
    raise SystemExit(f"bench_gpu: {recipe_path}: no architecture in {ARCH_DIR} has _model_id {model_id!r}")


def random_checkpoint(config, out: Path, device: str = "cpu", seed: int = 0) -> Path:
    """Write a random-weight checkpoint of `config` (bf16) under `out`, once per config; return its folder.

    Written to disk so the recipe loads it through `iftkit.models.load.load_model`, 4-bit
    quantisation included, exactly as it would load the real weights.
    """
    import torch
    from transformers import AutoModelForCausalLM

    key = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]
    folder = Path(out) / f"{config.model_type}-{config.num_hidden_layers}l-{config.hidden_size}h-{key}"
    if (folder / "complete").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder, max_shard_size="4GB")
    del model
    (folder / "complete").write_text("ok\n")
    return folder


def token_rows(n_rows: int, seq: int, vocab: int, labelled: float = 1.0, seed: int = 0):
    """Pre-tokenised rows of exactly `seq` random tokens, the last `labelled` share carrying the loss.

    SFTTrainer takes `input_ids` as they are (no chat template, no tokenisation), so every
    micro-batch has the benchmark's shape: batch x seq tokens, padding-free.
    """
    from datasets import Dataset

    rng = random.Random(seed)
    n_labelled = max(1, round(seq * labelled))
    return Dataset.from_list(
        [
            {
                "input_ids": [rng.randrange(vocab) for _ in range(seq)],
                "completion_mask": [0] * (seq - n_labelled) + [1] * n_labelled,
            }
            for _ in range(n_rows)
        ]
    )


def bench_recipe(recipe_path: str, batch: int, seq: int, steps: int, overrides=()):
    """The recipe as the benchmark trains it: its own model/LoRA/precision/checkpointing, the bench's shape."""
    from iftkit.config import load_recipe

    return load_recipe(
        recipe_path,
        [
            "--tracking.mode", "disabled",
            "--training.per_device_train_batch_size", str(batch),
            "--training.gradient_accumulation_steps", "1",
            "--training.max_length", str(seq),
            "--training.max_steps", str(steps),
            "--training.warmup_ratio", "0",
            "--training.logging_steps", "1",
            "--training.save_steps", str(10**6),
            *overrides,
        ],
    )
