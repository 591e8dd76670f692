"""The base model's options (recipe section `model`): read by models/load.py and the chat backends."""

from typing import Literal, Optional

from pydantic import Field

from iftkit import DEFAULT_MODEL_ID
from iftkit.config.options.base import Section


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
