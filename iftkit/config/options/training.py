"""The adapter and trainer options (recipe sections `lora` and `training`): read by training/."""

from functools import lru_cache
from typing import Literal, Optional, Union

from pydantic import ConfigDict, Field, field_validator, model_validator

from iftkit.config.options.base import Section


class LoraConfig(Section):
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    # a list of module names, or "all-linear" (PEFT picks every linear layer but the head)
    target_modules: Union[Literal["all-linear"], list[str]] = "all-linear"
    bias: Literal["none", "all", "lora_only"] = "none"


# SFTConfig fields iftkit sets itself (from its own keys, or because they name its folders and loggers)
SFT_MANAGED = ("run_name", "report_to", "use_cpu", "warmup_steps", "save_strategy", "eval_strategy",
               "load_best_model_at_end", "metric_for_best_model", "greater_is_better", "data_seed", "disable_tqdm",
               "save_only_model", "ddp_find_unused_parameters", "dataset_num_proc")


@lru_cache(maxsize=1)
def sft_config_fields() -> frozenset:
    import dataclasses

    from trl import SFTConfig

    return frozenset(f.name for f in dataclasses.fields(SFTConfig))


def passthrough_problem(key: str) -> Optional[str]:
    """Why `training.<key>` (not an iftkit key) cannot pass through to SFTConfig, or None."""
    if key not in sft_config_fields():
        return f"unknown key 'training.{key}' (neither an iftkit training key nor a field of TRL's SFTConfig)"
    if key in SFT_MANAGED:
        return f"key 'training.{key}' is set by iftkit itself"
    return None


class TrainingConfig(Section):
    """iftkit's training keys (with its defaults); any other TRL SFTConfig field (optim,
    max_grad_norm, adam_beta2, lr_scheduler_kwargs...) may be set here too and passes through."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    output_dir: Optional[str] = None
    max_steps: int = Field(-1, ge=-1)
    num_train_epochs: float = Field(1.0, gt=0)
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, le=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    per_device_train_batch_size: int = Field(8, gt=0)
    per_device_eval_batch_size: int = Field(8, gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    max_length: int = Field(512, gt=0)
    # "auto" = bf16 where the hardware supports it
    bf16: Union[bool, Literal["auto"]] = "auto"
    packing: bool = False
    # padding-free batching: rows concatenated, no pad tokens computed (same rows per step as padded)
    padding_free: bool = True
    # loss on completion tokens only (paper's code trained on inputs too: set False)
    completion_only_loss: bool = True
    gradient_checkpointing: bool = False
    logging_steps: int = Field(5, gt=0)
    save_steps: int = Field(50, gt=0)
    save_total_limit: int = Field(2, gt=0)
    eval_steps: Optional[int] = Field(None, gt=0)
    early_stopping_patience: Optional[int] = Field(None, gt=0)
    seed: int = 42
    # background workers tokenising/collating batches (0 = in the training process)
    dataloader_num_workers: int = Field(0, ge=0)
    # per-step entropy / token-accuracy metrics cost a pass over the LM head each step
    token_metrics: bool = False
    # speed levers (iftkit/training/speed.py; each measured by scripts/bench_train.py --levers):
    # the LM head projects only the labelled (completion) rows, not every position (training/label_head.py)
    lm_head_labelled_only: bool = True
    # padding-free rows attend as a padded batch of causal blocks, not one block-masked square
    # (training/packed_attention.py)
    packed_attention: bool = True
    # LoRA matmuls take autocast's bf16 activations as they are (PEFT's fp32 copy is cast straight back)
    lora_bf16_inputs: bool = True
    # keep freed host memory in the process instead of page-faulting it back in every step (glibc)
    retain_host_memory: bool = True
    # torch.compile each decoder layer (kernels cached under the iftkit cache, reused by every run)
    compile: bool = False
    # optimizer steps at which the adapter is also kept as it was then, in <adapter>/steps/step-N/
    # (set per cell from sweep.checkpoints; the step-N adapters are scored like the final one)
    keep_steps: list[int] = Field(default_factory=list)

    @field_validator("keep_steps")
    @classmethod
    def _positive_steps(cls, v):
        if any(s <= 0 for s in v) or len(set(v)) < len(v):
            raise ValueError(f"expected distinct positive step numbers, got {v}")
        return sorted(v)

    @model_validator(mode="after")
    def _extra_keys_are_sft_config_fields(self):
        # TRL is imported only when a recipe passes something through
        for key in sorted(self.model_extra or {}):
            problem = passthrough_problem(key)
            if problem:
                raise ValueError(problem)
        return self
