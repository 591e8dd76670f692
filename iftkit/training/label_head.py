"""The LM head of a training step, run on the labelled positions only.

An SFT loss needs the next-token log-probability only where the label is not -100: the
completion tokens, about 9 % of the quickstart's tokens (the chat template, system turn and
prompt make up the rest). TRL's fused LM head projects only those rows on Triton devices; on
every other device (CPU included) it projects all rows through the 49k-wide vocabulary and
masks afterwards, and that projection, its softmax and its backward were a third of a CPU
step. This forward selects the labelled rows first and runs TRL's chunked log-prob kernel on
them: the same per-token numbers, an order of magnitude less LM-head work. On Triton devices
(CUDA) TRL's own head already does this with a fused kernel, and the trainer keeps it
(`trl_head_compacts`).

Models whose logits are scaled or soft-capped (Gemma, Granite, ...), MoE models with a router
loss, and pre-shifted labels (context parallelism) keep TRL's forward, which handles them.
"""

import functools
import types

# vocabulary columns projected at once: bounds the [labelled rows, chunk] tile
VOCAB_CHUNK = 8192
_LOGIT_TRANSFORMS = (
    "final_logit_softcapping",
    "logit_scale",
    "output_multiplier",
    "lm_head_multiplier",
    "logits_scaling",
)


def supports_label_head(model) -> bool:
    cfg = model.config.get_text_config()
    plain_logits = all(getattr(cfg, k, None) is None for k in _LOGIT_TRANSFORMS)
    return plain_logits and not getattr(cfg, "output_router_logits", False)


def trl_head_compacts(device) -> bool:
    """Whether TRL's own fused head already projects only the labelled rows on `device` (Triton: CUDA, XPU).

    There iftkit keeps TRL's head (and its Triton kernel) instead of patching in this one. The
    answer is TRL's own test, so the two cannot disagree about which head runs where.
    """
    import torch

    try:
        from trl.kernels.chunked_logprob import _use_triton
    except ImportError:  # a TRL without the test: its head compacts where Triton runs
        from transformers.utils import is_triton_available

        return is_triton_available() and torch.device(device).type in ("cuda", "xpu")
    return bool(_use_triton(torch.device(device)))


def add_label_lm_head(model) -> bool:
    """Patch `model` (the transformers model, TRL's fused head already added) so that
    `model(..., labels=..., fused_lm_head=True)` scores only labelled positions. False where it keeps TRL's forward."""
    if not supports_label_head(model):
        return False
    fused_forward = model.forward

    @functools.wraps(type(model).forward)
    def forward(self, *args, fused_lm_head=False, labels=None, num_items_in_batch=None, **kwargs):
        if not fused_lm_head or labels is None or kwargs.get("shift_labels") is not None:
            return fused_forward(
                *args, fused_lm_head=fused_lm_head, labels=labels, num_items_in_batch=num_items_in_batch, **kwargs
            )
        return label_log_probs(self, labels, num_items_in_batch, *args, **kwargs)

    model.forward = types.MethodType(forward, model)
    return True


def label_log_probs(model, labels, num_items_in_batch, *args, **kwargs):
    """TRL's FusedCausalLMOutput (loss, log_probs, label_mask) from the labelled rows only."""
    import torch
    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import FusedCausalLMOutput

    kwargs["use_cache"] = False
    hidden = model.base_model(*args, **kwargs).last_hidden_state[:, :-1]
    targets = labels[:, 1:].to(hidden.device)
    mask = targets != -100
    head = model.get_output_embeddings()
    rows, *_ = ChunkedLogProbFunction.apply(
        hidden[mask], _frozen_weight(head.weight), head.bias, targets[mask], 1.0, VOCAB_CHUNK, None, 1.0, ("log_probs",)
    )
    # masked_scatter keeps an all-masked batch connected to the graph (a zero loss that still backpropagates)
    log_probs = torch.zeros(mask.shape, dtype=rows.dtype, device=rows.device).masked_scatter(mask, rows)
    count = mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch
    return FusedCausalLMOutput(loss=-log_probs.sum() / count, log_probs=log_probs, label_mask=mask)


def _frozen_weight(weight):
    """The head's weight in the autocast dtype, cast once while it stays frozen and unchanged.

    The tied head shares the (fp32) input embedding, which bf16 training keeps in fp32; the
    kernel would otherwise cast every vocabulary chunk to bf16 on each forward and backward.
    """
    import torch

    device = weight.device.type
    if weight.requires_grad or not torch.is_autocast_enabled(device):
        return weight
    dtype = torch.get_autocast_dtype(device)
    if weight.dtype == dtype:
        return weight
    key = (weight.data_ptr(), weight._version, dtype)
    cached = getattr(weight, "_iftkit_cast", None)
    if cached is None or cached[0] != key:
        cached = (key, weight.detach().to(dtype))
        weight._iftkit_cast = cached
    return cached[1]
