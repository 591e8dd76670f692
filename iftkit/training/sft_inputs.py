"""The pieces SFTTrainer needs, built from a recipe: the base model (+4/8-bit), the LoRA config, the SFTConfig.

Kept apart from the run loop so the benchmark and the tests build exactly what
`train/sft.py` trains.
"""

from pathlib import Path
from typing import Optional

from iftkit.config.schema import Recipe, sft_config_fields
from iftkit.models.load import load_model


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def bf16_supported() -> bool:
    """bf16 matmuls the hardware runs natively (Ampere+ GPUs, AVX512-BF16/AMX CPUs)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    is_avx512_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    is_amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    return bool(is_avx512_bf16() or is_amx())


def use_bf16(recipe: Recipe) -> bool:
    flag = recipe.training.bf16
    return bf16_supported() if flag == "auto" else bool(flag)


def peft_config(recipe: Recipe):
    from peft import LoraConfig

    lc = recipe.lora
    return LoraConfig(
        r=lc.r,
        lora_alpha=lc.alpha,
        lora_dropout=lc.dropout,
        target_modules=lc.target_modules,
        bias=lc.bias,
        task_type="CAUSAL_LM",
    )


def load_base_for_training(recipe: Recipe, model_path: str):
    """Base model ready for LoRA: quantised weights prepared for k-bit training when asked."""
    device_map = None
    quantized = recipe.model.quantization.mode != "none"
    if quantized and cuda_available():
        from accelerate import PartialState

        # each DDP rank keeps its own quantised copy on its own GPU
        device_map = {"": PartialState().local_process_index}
    model = load_model(recipe.model, path=model_path, device_map=device_map)
    if quantized:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.training.gradient_checkpointing
        )
    elif use_bf16(recipe):
        cast_frozen_linears_bf16(model)
    model.config.use_cache = False
    return model


def cast_frozen_linears_bf16(model) -> int:
    """Store the frozen base's linear weights in bf16 once, instead of autocast re-casting them every step.

    Under bf16 autocast every matmul already runs on bf16 copies of these weights, so the
    numbers are the same; what goes away is casting ~all parameters on each forward (and half
    their memory). Norms, embeddings and the tied LM head stay as loaded. LoRA weights, added
    later by PEFT, stay fp32.
    """
    import torch

    tied = model.get_output_embeddings()
    n = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and module is not tied and module.weight.dtype == torch.float32:
            module.to(torch.bfloat16)
            n += 1
    return n


def sft_config(
    recipe: Recipe, checkpoint_dir: Path, report_to: list[str], has_eval: bool, run_name: Optional[str] = None
):
    from trl import SFTConfig

    t = recipe.training
    early = t.early_stopping_patience is not None and has_eval
    eval_steps = t.eval_steps or t.save_steps
    # load_best_model_at_end needs checkpoints on the evaluation grid
    save_steps = eval_steps * max(1, round(t.save_steps / eval_steps)) if early else t.save_steps
    # every training key that is an SFTConfig field passes as it is (passthrough keys included) ...
    fields = sft_config_fields()
    given = {k: v for k, v in t.model_dump().items() if k in fields}
    # ... except those iftkit derives: its folders, hardware-dependent precision, evaluation plan
    derived = dict(
        output_dir=str(checkpoint_dir),
        run_name=run_name,
        warmup_steps=min(t.warmup_ratio, 0.999),  # a float < 1 is a fraction of all steps
        # padding-free rows are truncated by IftkitSFTTrainer._prepare_dataset (TRL refuses max_length here)
        max_length=None if (t.padding_free and not t.packing) else t.max_length,
        bf16=use_bf16(recipe),
        use_cpu=not cuda_available(),
        padding_free=t.padding_free and not t.packing,
        save_strategy="steps",
        save_steps=save_steps,
        eval_strategy="steps" if (has_eval and (early or t.eval_steps)) else "no",
        eval_steps=eval_steps if has_eval else None,
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if early else None,
        greater_is_better=False if early else None,
        data_seed=t.seed,
        report_to=report_to,
        disable_tqdm=True,
        save_only_model=False,
        ddp_find_unused_parameters=False,
        dataset_num_proc=None,
    )
    return SFTConfig(**{**given, **derived})
