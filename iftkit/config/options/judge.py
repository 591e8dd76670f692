"""The LLM judge's options (recipe section `eval.judge`): read by evaluation/judge/ and meta/judge_trust.py."""

from typing import Literal, Optional

from pydantic import Field

from iftkit.config.options.base import Section


class JudgeConfig(Section):
    # a chat backend name (models/chat/registry.py), or local = a model on this machine, run by
    # eval.backend's engine
    backend: str = "local"
    # local backend: any local model dir, .gguf file or cached hub id ("base" = the recipe's base
    # model, labelled a weak judge); openai backend: the served model name
    model: str = "base"
    # how a verdict is read: probs = from the judge's probabilities over the allowed verdicts
    # (local: next-token distribution at the verdict slot; openai: token logprobs, required),
    # text = parse the reply, auto = probabilities wherever the backend gives them, else text
    verdict: Literal["probs", "text", "auto"] = "auto"
    # circuit breaker: after this many connection failures in a row, stop calling the server
    max_consecutive_failures: int = Field(5, gt=0)
    # local judge weights' dtype ("model" = the recipe's model.dtype). A judge only reads relative
    # probabilities, which bf16 keeps to ~0.01 at 2.5x the speed of fp32 on a CPU with bf16 support
    dtype: Literal["model", "auto", "float32", "bfloat16", "float16"] = "bfloat16"
    base_url: Optional[str] = None
    # name of the environment variable holding the API key (never the key itself)
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(4, gt=0)
    max_retries: int = Field(5, ge=0)
    timeout_s: float = Field(60.0, gt=0)
    prompt_file: Optional[str] = None
    pairwise: bool = False
    # prompt data files (None = the packaged defaults in iftkit/evaluation/judge/default_prompts/)
    pairwise_prompt_file: Optional[str] = None
    max_tokens: int = Field(48, gt=0)
    temperature: float = Field(0.0, ge=0.0)
    # first retry waits backoff_s, then doubles (Retry-After wins when the server sends it)
    backoff_s: float = Field(1.0, ge=0.0)
    # price per million tokens, for the cost line (0 = free / local)
    input_cost_per_1m: float = Field(0.0, ge=0.0)
    output_cost_per_1m: float = Field(0.0, ge=0.0)
    # human pairwise preferences (LLMBar JSON, or prompt/response_a/response_b/preference) the judge is
    # measured on once (cached per judge identity) before a report may use it as a scorer; None = only a
    # measurement made by `iftkit meta-eval --human FILE` counts (meta/judge_trust.py)
    trust_set: Optional[str] = None
    # the trust gate: each judge output (pairwise, reference-guided 0-10) is used only when the exact 95 %
    # lower bound of its agreement with the human preferences reaches trust_min_agreement, over at least
    # trust_min_pairs human pairs (LLMBar's strong judges agree on 0.80-0.95; a coin on 0.50)
    trust_min_agreement: float = Field(0.65, gt=0.5, lt=1.0)
    trust_min_pairs: int = Field(100, ge=1)
    # a sweep leaves out the judge outputs this gate keeps off every axis (never measured, or measured and
    # failing): on long inputs a local judge is most of an evaluation's time, for rows no decision may use.
    # true = run them anyway (for reading). `iftkit eval` always runs what eval.scorers lists
    run_untrusted: bool = False
