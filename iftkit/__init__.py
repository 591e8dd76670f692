"""iftkit: specialise instruction-tuned LLMs with LoRA/QLoRA and measure the cost."""

__version__ = "0.1.0"

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
