"""Load a base model and its tokenizer as a recipe's `model:` section describes."""

from typing import Optional

from iftkit.config.schema import ModelConfig
from iftkit.models.chat_format import prepare_tokenizer
from iftkit.models.resolve import resolve_model

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def torch_dtype(name: str):
    import torch

    return "auto" if name == "auto" else getattr(torch, _DTYPES[name])


def quantization_config(cfg: ModelConfig):
    q = cfg.quantization
    if q.mode == "none":
        return None
    from transformers import BitsAndBytesConfig

    if q.mode == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=q.quant_type,
        bnb_4bit_use_double_quant=q.double_quant,
        bnb_4bit_compute_dtype=torch_dtype(q.compute_dtype),
        bnb_4bit_quant_storage=torch_dtype(q.compute_dtype),
    )


def load_tokenizer(path: str, revision: Optional[str] = None, trust_remote_code: bool = False):
    """The tokenizer, its chat template made to write exactly what the model sees (models/chat_format.py)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, revision=revision, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return prepare_tokenizer(tok)


def load_chat_tokenizer(path: str, adapter_path: Optional[str] = None, model_cfg=None):
    """The tokenizer a chat backend renders prompts with: the adapter's when it saved one (its chat
    template is the format it learnt), else the base model's."""
    from pathlib import Path

    tok_dir = path
    if adapter_path and (Path(adapter_path) / "tokenizer_config.json").is_file():
        tok_dir = adapter_path
    return load_tokenizer(tok_dir, trust_remote_code=bool(getattr(model_cfg, "trust_remote_code", False)))


def load_model(cfg: ModelConfig, path: Optional[str] = None, device_map=None):
    """Load the base causal LM (resolving `cfg.id` unless `path` is given)."""
    from transformers import AutoModelForCausalLM

    path = path or resolve_model(cfg.id, cfg.revision)
    kwargs = dict(
        revision=cfg.revision if path == cfg.id else None,
        dtype=torch_dtype(cfg.dtype),
        attn_implementation=cfg.attn_implementation,
        trust_remote_code=cfg.trust_remote_code,
    )
    qc = quantization_config(cfg)
    if qc is not None:
        kwargs["quantization_config"] = qc
    if device_map is not None:
        kwargs["device_map"] = device_map
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def _foldable(x) -> bool:
    """Whether torch's matmul can view `x` as one matrix of rows (its test, size-1 dims included)."""
    return all(x.stride(i) == x.stride(i + 1) * x.size(i + 1) for i in range(x.dim() - 2))


def _contiguous_input(module, args):
    import torch

    x = args[0]
    if _foldable(x):
        return None
    return (x.clone(memory_format=torch.contiguous_format), *args[1:])


def ready_to_answer(model):
    """`model` in eval mode, its LM head fed a contiguous input.

    A model asked for the last positions' logits only (`logits_to_keep`, every prefill) hands its head
    a strided slice of the hidden states. torch's matmul folds such a slice into one matrix product
    only while the head's weight requires grad; frozen (every PEFT model) it runs one product per
    batch row and reads the whole head once per row: 16 reads of Gemma 3's 671 MB head per prefill of
    16 rows (scripts/bench_head.py). The copy it saves is one row of hidden states per prompt.
    """
    head = model.get_output_embeddings()
    if head is not None:
        head.register_forward_pre_hook(_contiguous_input)
    return model.eval()


def load_model_and_tokenizer(cfg: ModelConfig, device_map=None):
    path = resolve_model(cfg.id, cfg.revision)
    tok = load_tokenizer(
        path, revision=cfg.revision if path == cfg.id else None, trust_remote_code=cfg.trust_remote_code
    )
    return load_model(cfg, path=path, device_map=device_map), tok
