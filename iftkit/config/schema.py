"""The typed shape of a recipe: one pydantic model per section, unknown keys refused.

Every field has a default so a recipe only states what differs; ranges live here so a bad
value is refused before any model loads. Later stages add fields to their own section.
"""

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iftkit import DEFAULT_MODEL_ID


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class QuantizationConfig(Section):
    # none: full-precision weights (LoRA); 4bit: bitsandbytes NF4 (QLoRA); 8bit: LLM.int8
    mode: Literal["none", "4bit", "8bit"] = "none"
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    compute_dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"


class ModelConfig(Section):
    # hub id, local directory, or a .gguf file
    id: str = DEFAULT_MODEL_ID
    revision: Optional[str] = None
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["eager", "sdpa", "flash_attention_2"] = "sdpa"
    quantization: QuantizationConfig = Field(default_factory=QuantizationConfig)
    trust_remote_code: bool = False


class LoraConfig(Section):
    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    # a list of module names, or "all-linear" (PEFT picks every linear layer but the head)
    target_modules: Union[Literal["all-linear"], list[str]] = "all-linear"
    bias: Literal["none", "all", "lora_only"] = "none"


class DataConfig(Section):
    """Where rows come from: the built-in task catalog and/or user files."""

    # the task the adapter specialises on (a catalog family name, or a user-data task name)
    target_task: str = "sentiment"
    # general pool: catalog families ("all" = every family except the target) ...
    general_tasks: Union[Literal["all"], list[str]] = "all"
    # ... plus optional user files (JSONL/JSON/CSV/Parquet) for either pool
    target_files: list[str] = Field(default_factory=list)
    general_files: list[str] = Field(default_factory=list)
    # schema of user files: auto-detected unless set
    file_format: Literal["auto", "alpaca", "messages", "sharegpt", "prompt_completion"] = "auto"
    on_bad_line: Literal["error", "skip"] = "error"
    # catalog generation
    samples_per_task: int = Field(400, gt=0)
    difficulty: int = Field(1, ge=1, le=3)
    seed: int = 0


class MixConfig(Section):
    """How the training mix is assembled from the two pools.

    Set exactly one of target_ratio (target share of a fixed-size mix) or target_count
    (n target rows added to the whole general pool, as in the paper's n = 0, 10, 100, 1000).
    """

    target_ratio: Optional[float] = Field(None, ge=0.0, le=1.0)
    target_count: Optional[int] = Field(None, ge=0)
    # size of the training mix when mixing by ratio
    total_size: int = Field(400, gt=0)
    # rows held out per split; test sets are fixed per task and never enter a mix
    val_size: int = Field(40, ge=0)
    test_size_per_task: int = Field(50, gt=0)
    # target-format rows generated synthetically, mixed in apart from real target rows
    synthetic_format_count: int = Field(0, ge=0)
    seed: int = 0

    @model_validator(mode="after")
    def _one_amount(self):
        if (self.target_count is None) == (self.target_ratio is None):
            raise ValueError("set exactly one of mix.target_ratio and mix.target_count")
        return self


class TrainingConfig(Section):
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
    # padding-free batching: no pad tokens computed (needs a flash/sdpa-varlen capable model)
    padding_free: bool = False
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


class TrackingConfig(Section):
    project: str = "iftkit"
    group: Optional[str] = None
    name: Optional[str] = None
    tags: list[str] = Field(default_factory=list)
    # auto: online when W&B credentials exist, offline otherwise
    mode: Literal["auto", "online", "offline", "disabled"] = "auto"
    dir: Optional[str] = None


class JudgeConfig(Section):
    backend: Literal["local", "openai"] = "local"
    # local backend: a model id/path ("base" = the recipe's base model, a weak judge)
    model: str = "base"
    base_url: Optional[str] = None
    # name of the environment variable holding the API key (never the key itself)
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(4, gt=0)
    max_retries: int = Field(5, ge=0)
    timeout_s: float = Field(60.0, gt=0)
    prompt_file: Optional[str] = None
    pairwise: bool = False
    # prompt data files (None = recipes/prompts/judge_reference.yaml / judge_pairwise.yaml)
    pairwise_prompt_file: Optional[str] = None
    max_tokens: int = Field(48, gt=0)
    temperature: float = Field(0.0, ge=0.0)
    # first retry waits backoff_s, then doubles (Retry-After wins when the server sends it)
    backoff_s: float = Field(1.0, ge=0.0)
    # price per million tokens, for the cost line (0 = free / local)
    input_cost_per_1m: float = Field(0.0, ge=0.0)
    output_cost_per_1m: float = Field(0.0, ge=0.0)


class EvalConfig(Section):
    suites: list[str] = Field(default_factory=lambda: ["in_domain", "general"])
    scorers: list[str] = Field(default_factory=lambda: ["task_strict", "task_tolerant", "rouge", "exact_match"])
    max_new_tokens: int = Field(64, gt=0)
    batch_size: int = Field(16, gt=0)
    # rows per task in the general suite (None = the whole fixed test set)
    general_samples_per_task: Optional[int] = Field(None, gt=0)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    embedding_model: Optional[str] = None
    reward_model: Optional[str] = None
    # rows per task in the in-domain suite (None = the whole fixed test set)
    in_domain_samples: Optional[int] = Field(None, gt=0)
    # a built mix dir to read test/<task>.jsonl from (None = build the recipe's mix)
    mix_dir: Optional[str] = None
    # general instruction set: "builtin", "none", or a rows file (JSONL); capped per category
    instruction_set: str = "builtin"
    instruction_samples_per_category: Optional[int] = Field(None, gt=0)
    # extra suites: name -> rows file (JSONL), evaluated like the general suite
    extra_suites: dict[str, str] = Field(default_factory=dict)
    backend: Literal["transformers", "vllm"] = "transformers"
    # generation + judge caches (None = <iftkit cache>/eval)
    cache_dir: Optional[str] = None
    bootstrap_samples: int = Field(1000, ge=0)


class SweepConfig(Section):
    """A grid of cells; each cell is the recipe with one value per grid key applied."""

    # dotted recipe key -> values, e.g. {"mix.target_ratio": [0.0, 0.1, 0.5, 1.0]}
    grid: dict[str, list] = Field(default_factory=dict)
    # each seed sets training.seed and mix.seed of a cell; spread across seeds = error bars
    seeds: list[int] = Field(default_factory=lambda: [0])
    # S1 recommendation: best in-domain among cells keeping >= this share of base general score
    keep_general: float = Field(0.95, gt=0.0, le=1.0)
    # scorer whose means drive the chart's axes and the recommendation
    primary_scorer: str = "task_tolerant"
    # where sweeps write: <out_dir>/<recipe name>/
    out_dir: str = "runs"
    # inprocess: train/eval in this process; accelerate: `accelerate launch train/sft.py` per cell
    launcher: Literal["inprocess", "accelerate"] = "inprocess"
    accelerate_config: Optional[str] = None

    @model_validator(mode="after")
    def _grid_keys_are_dotted(self):
        for key, values in self.grid.items():
            if "." not in key:
                raise ValueError(f"sweep.grid key {key!r} must be a dotted recipe key like mix.target_ratio")
            if not values:
                raise ValueError(f"sweep.grid.{key} needs at least one value")
        if not self.seeds:
            raise ValueError("sweep.seeds needs at least one seed")
        return self


class Recipe(Section):
    name: str = "experiment"
    description: str = ""
    model: ModelConfig = Field(default_factory=ModelConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    mix: MixConfig = Field(default_factory=lambda: MixConfig(target_ratio=0.5))
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
