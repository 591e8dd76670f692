"""Speed levers applied to the trainer's model; each is a `training.*` recipe option that keeps what is learnt.

Measured lever by lever by `scripts/bench_train.py --levers` (README "Performance"):

- `lora_bf16_inputs`: PEFT casts every LoRA layer's input to the fp32 LoRA weights; under bf16
  autocast the matmul then casts it straight back to bf16. bf16 -> fp32 -> bf16 is exact, so
  skipping both copies gives bit-identical numbers without two activation copies per layer.
- `retain_host_memory`: glibc returns large freed blocks to the OS and takes them back next
  step, a page fault per 4 KiB touched (costly in VMs). Keeping them halves the page faults of
  a CPU step; device memory is unaffected.
- `compile`: torch.compile of each decoder layer. All layers share one compiled graph (the
  weights are graph inputs), so the compile cost is one layer's, and the kernels land in a
  persistent inductor cache under the iftkit cache, so the cells of a sweep pay it once.
"""

import ctypes
import ctypes.util
import logging
import os

from iftkit.core.paths import cache_dir
from iftkit.training.packed_attention import use_packed_attention

log = logging.getLogger("iftkit.train")

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's ceiling on 64-bit


def inductor_cache_dir():
    return cache_dir() / "inductor"


def lora_layers(model) -> list:
    from peft.tuners.lora import LoraLayer

    return [m for m in model.modules() if isinstance(m, LoraLayer)]


def keep_lora_inputs_bf16(model) -> int:
    """Let LoRA layers feed autocast's bf16 activations to their matmuls as they are (see module doc)."""
    layers = lora_layers(model)
    for m in layers:
        m.cast_input_dtype_enabled = False
    return len(layers)


def retain_host_memory() -> bool:
    """Keep freed heap memory in the process (glibc only); False where there is no glibc malloc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    # setting both fixes the thresholds (glibc stops adapting them) at: blocks up to 32 MiB come
    # from the heap, and the heap is not trimmed back to the OS below 4 GiB of free top
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1
    return mallopt(_M_TRIM_THRESHOLD, 2**32 - 1) == 1 and ok


def decoder_layers(model) -> list:
    """The repeated transformer blocks, found by the class names transformers keeps in `_no_split_modules`."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(base, "_no_split_modules", None) or [])
    return [m for m in base.modules() if type(m).__name__ in names]


def compile_decoder_layers(model) -> int:
    """torch.compile every decoder layer in place; kernels cached on disk across runs."""
    import torch
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    # a cache dir the user chose wins; torch's own default (a tmp dir, which inductor writes into the
    # environment on first use) gives way to the iftkit cache, which outlives reboots
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR") in (None, default_cache_dir()):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(inductor_cache_dir())
    layers = decoder_layers(model)
    # one graph serves all layers, recompiled at most once more when lengths first change (then dynamic)
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 16)
    for layer in layers:
        layer.compile()
    return len(layers)


def apply_speed_levers(model, training, bf16: bool) -> dict:
    """Apply the recipe's levers to a PEFT-wrapped model; return what was applied (for logs and the bench)."""
    applied = {}
    if training.lora_bf16_inputs and bf16:
        applied["lora_bf16_inputs"] = keep_lora_inputs_bf16(model)
    # compiled layers keep SDPA: inductor miscompiles the packed layout's dynamic shapes (torch 2.13)
    if training.packed_attention and training.padding_free and not training.packing and not training.compile:
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        applied["packed_attention"] = use_packed_attention(base)
    if training.retain_host_memory:
        applied["retain_host_memory"] = retain_host_memory()
    if training.compile:
        applied["compile"] = compile_decoder_layers(model)
    log.debug("speed levers: %s", applied)
    return applied
