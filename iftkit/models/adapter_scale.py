"""Run a LoRA model at a fraction of its adapter's strength, with no training.

A LoRA layer computes W x + s * B A x; multiplying s by m in [0, 1] gives the weights
W + m * (W_ft - W): exactly weight-space interpolation between the base and the fine-tuned
model (WiSE-FT, Wortsman et al. 2022). m = 0 is the base model, m = 1 the adapter as trained.
PEFT's own context manager does the scaling and restores it on exit.
"""

from contextlib import nullcontext

from iftkit.core.errors import IftkitError

AS_TRAINED = 1.0


def check_scale(scale, where: str = "adapter_scale") -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 <= scale <= 1.0:
        raise IftkitError(
            f"{where}: expected a number in [0, 1] (0 = base model, 1 = adapter as trained), got {scale!r}"
        )
    return float(scale)


def scaled_adapter(model, scale: float):
    """A block in which `model`'s LoRA deltas are multiplied by `scale` (nothing to do at 1)."""
    if scale == AS_TRAINED:
        return nullcontext()
    from peft.helpers import rescale_adapter_scale

    return rescale_adapter_scale(model, float(scale))
