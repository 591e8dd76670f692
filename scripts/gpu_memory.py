"""Simulated GPU memory of a recipe's training step, from its architecture facts, on a CPU.

    peak = weights + LoRA weights + their gradients + optimizer states      (counted, meta device)
         + activations                                                     (measured, one layer, on CPU)

Counted: every parameter of the full architecture is built on the meta device (no memory) and
LoRA is added by PEFT with the recipe's `lora:` section; each parameter's bytes per element are
those its counterpart has in a one-layer model at the real width, loaded and prepared by
iftkit's own training path on the CPU (`make_trainer`: bf16 weights, or 4-bit NF4 + PEFT's
k-bit preparation, which keeps embeddings, norms and LM head in fp32; TRL's bf16 adapters under
QLoRA). Optimizer bytes per trainable element are read from that trainer's optimizer after a step.

Measured: that one-layer model trains one step at the real batch and length (real hidden size,
real heads, a 1,024-token vocabulary) under the recipe's gradient checkpointing, while a
TorchDispatchMode counts the bytes of every storage torch allocates and frees. Hooks on the
decoder layer give what one layer leaves alive after its forward (`per_layer`: with
checkpointing, its output only) and its extra peak in forward and in backward (recomputation
included). The L-layer step is then the one-layer step plus (L - 1) x `per_layer`, at each of
three moments: the last layer's forward, the LM head, the last layer's backward. The LM head is
measured apart at the real vocabulary, since the vocabulary dominates it: TRL's fused head,
with its two CPU-only steps swapped for their CUDA footprint (`head_bytes`), at two row counts,
extended linearly to the labelled rows.

Not simulated: the CUDA context and cuBLAS workspaces (outside `max_memory_allocated`), the
caching allocator's rounding and fragmentation (`reserved` minus `allocated`), and attention
kernels that exist only on CUDA (SDPA runs here on CPU kernels; flash and memory-efficient
attention also keep memory linear in the length). `tests/scripts/test_bench_gpu.py` checks the
method where both sides can be measured: the tiny 2-layer shape, predicted from one layer,
against the peak of the real 2-layer training step on this CPU.
"""

import re
import time
import weakref
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

GIB = 2**30
LAYER_VOCAB = 1024  # the one-layer model's vocabulary: the real one is measured with the LM head


class LiveBytes(TorchDispatchMode):
    """Bytes of the storages torch creates while active, alive now and at the peak (a CPU max_memory_allocated).

    Storages that exist before entering (weights, inputs) are not counted. A storage counts once,
    however many views share it, until Python and autograd both let it go.
    """

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0
        self._sizes = WeakIdKeyDictionary()  # storage -> bytes counted (None: existed before, never counted)
        self._by_id = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self._count(t.untyped_storage())
        return out

    def _count(self, storage):
        n = storage.nbytes()
        old = self._sizes.get(storage, -1)
        if old is None:
            return
        if old == -1:
            weakref.finalize(storage, self._free, id(storage))
            self._sizes[storage] = n
            self._by_id[id(storage)] = n
            self.live += n
        elif n != old:  # resized in place
            self._sizes[storage] = n
            self._by_id[id(storage)] = n
            self.live += n - old
        self.peak = max(self.peak, self.live)

    def _free(self, key):
        self.live -= self._by_id.pop(key, 0)

    def ignore(self, tensor):
        self._sizes[tensor.untyped_storage()] = None

    def reset_peak(self):
        self.peak = self.live


def _layer_regex(name: str) -> str:
    return re.sub(r"\.layers\.\d+\.", ".layers.0.", name)


def _quant_state_tensors(param) -> list:
    """A 4-bit parameter's own quantisation state (absmax, double-quantised absmax), not the shared code tables."""
    qs = getattr(param, "quant_state", None)
    if qs is None:
        return []
    return [qs.absmax] + ([qs.state2.absmax] if qs.nested else [])


def param_bytes_per_element(param) -> float:
    """Bytes a parameter takes per logical element; a 4-bit one counts its packed data and quantisation state."""
    qs = getattr(param, "quant_state", None)
    if qs is None:
        return param.element_size()
    numel = 1
    for d in qs.shape:
        numel *= d
    return (param.untyped_storage().nbytes() + sum(t.nbytes for t in _quant_state_tensors(param))) / numel


def weight_bytes(model) -> int:
    """Bytes of a loaded model's parameters, buffers and 4-bit quantisation states (each storage once)."""
    seen = {}
    for t in [*model.parameters(), *model.buffers(), *(q for p in model.parameters() for q in _quant_state_tensors(p))]:
        st = t.untyped_storage()
        seen[(st.data_ptr(), t.device)] = st.nbytes()
    return sum(seen.values())


def static_bytes(config, recipe, layer_trainer) -> dict:
    """Weights, LoRA weights, gradients and optimizer states of the full model, counted on the meta device."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from iftkit.models.load import torch_dtype
    from iftkit.training.sft_inputs import peft_config

    dtype = torch_dtype(recipe.model.dtype)
    with torch.device("meta"):
        full = get_peft_model(AutoModelForCausalLM.from_config(config, dtype=dtype), peft_config(recipe))
    real = {_layer_regex(n): p for n, p in layer_trainer.model.named_parameters()}
    trainable = [p for p in layer_trainer.model.parameters() if p.requires_grad]
    states = [v for s in layer_trainer.optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
    opt_per_element = sum(v.nbytes for v in states) / max(1, sum(p.numel() for p in trainable))
    out = {"weights": 0.0, "lora": 0.0, "params": 0, "trainable": 0}
    for name, p in full.named_parameters():
        twin = real.get(_layer_regex(name))
        if twin is None:
            raise SystemExit(f"gpu_memory: parameter {name} has no counterpart in the one-layer model")
        nbytes = p.numel() * param_bytes_per_element(twin)
        out["params"] += p.numel()
        if twin.requires_grad:
            out["lora"] += nbytes
            out["trainable"] += p.numel()
        else:
            out["weights"] += nbytes
    out["weights"] += sum(b.numel() * b.element_size() for b in full.buffers())  # rotary frequencies
    out["grads"] = out["lora"]
    out["optimizer"] = out["trainable"] * opt_per_element
    return out


class LayerProbe:
    """Live bytes at the moments of one training step that the L-layer step repeats, from hooks on its one layer.

    forward: the layer's own forward (first call); head: from its end to its recomputation in
    backward (final norm, LM head and its backward); backward: from the recomputation (or, without
    checkpointing, from the end of the forward) to the end of the step's backward.
    """

    def __init__(self, layer, meter: LiveBytes, trainer):
        self.meter, self.inner_calls, self.marks = meter, 0, {}
        layer.register_forward_pre_hook(self._pre)
        layer.register_forward_hook(self._post)
        # transformers checkpoints the layer's forward, not its __call__: only a submodule's hooks see the recomputation
        first = getattr(layer, "input_layernorm", None) or next(layer.children())
        first.register_forward_pre_hook(self._inner)
        step = trainer.training_step

        def training_step(*args, **kwargs):
            loss = step(*args, **kwargs)
            self.marks.setdefault("end", (self.meter.live, self.meter.peak))
            return loss

        trainer.training_step = training_step

    def _mark(self, name):
        self.marks.setdefault(name, (self.meter.live, self.meter.peak))
        self.meter.reset_peak()

    def _pre(self, module, args):
        self._mark("pre")

    def _post(self, module, args, out):
        self._mark("post")

    def _inner(self, module, args):
        self.inner_calls += 1
        if self.inner_calls == 2:  # the recomputation in backward: the head phase is over
            self._mark("recompute")


def ignore_existing(meter: LiveBytes, model):
    """Storages that exist already (weights, 4-bit quantisation states) are not the step's memory, nor views of them."""
    tensors = [*model.parameters(), *model.buffers()]
    for p in model.parameters():
        qs = getattr(p, "quant_state", None)
        if qs is not None:
            tensors += [qs.absmax, qs.code] + ([qs.state2.absmax, qs.state2.code] if qs.nested else [])
    for t in tensors:
        meter.ignore(t)


def measure_layer(
    arch: str, recipe_path: str, batch: int, seq: int, workdir: Path, labelled: float = 1.0, shape=None
) -> dict:
    """Train the one-layer model of `arch` (`shape` overrides its facts) one step through make_trainer."""
    from gpu_shapes import CUDA_PATH_ON_CPU, arch_config, bench_recipe, random_checkpoint, token_rows

    from iftkit.testing.tiny import make_tokenizer
    from iftkit.training.trainer import make_trainer

    shape = dict(shape or {})
    vocab = min(LAYER_VOCAB, shape.get("vocab_size", LAYER_VOCAB))
    config = arch_config(arch, **{**shape, "num_hidden_layers": 1, "vocab_size": vocab})
    ckpt = random_checkpoint(config, workdir / "checkpoints")
    recipe = bench_recipe(recipe_path, batch, seq, 1, CUDA_PATH_ON_CPU)
    trainer = make_trainer(
        recipe, str(ckpt), make_tokenizer(), token_rows(batch, seq, vocab, labelled), None, workdir / "out"
    )
    base = trainer.model.get_base_model()
    meter = LiveBytes()
    probe = LayerProbe(base.model.layers[0], meter, trainer)
    hidden = {}

    def final_hidden(module, args, out):  # the dtype the LM head receives (fp32 where the norm is fp32)
        hidden.setdefault("dtype", out.dtype)

    base.model.norm.register_forward_hook(final_hidden)
    started = time.perf_counter()
    ignore_existing(meter, trainer.model)
    with meter:
        trainer.train()
    m = probe.marks
    pre, post, end = m["pre"][0], m["post"][0], m["end"][1]
    recompute = m.get("recompute")
    out = {
        "trainer": trainer,
        "config": config,
        "recipe": recipe,
        "seconds": time.perf_counter() - started,
        "checkpointing": recompute is not None,
        "per_layer": post - pre,  # what one layer leaves alive until its backward
        "fwd_at": pre,
        "fwd_peak": m["post"][1] - pre,
        "head_at": post,
        "hidden_dtype": hidden.get("dtype", torch.bfloat16),
        "vocab": vocab,
    }
    if recompute is not None:
        out["head_peak_small_vocab"] = recompute[1] - post
        out["bwd_at"] = recompute[0]
        out["bwd_peak"] = end - recompute[0]
    else:  # head and layer backward in one stretch
        out["head_peak_small_vocab"] = end - post
        out["bwd_at"], out["bwd_peak"] = post, end - post
    return out


def _addmm_fp32_as_on_cuda(acc, a, b):
    """TRL's fp32 accumulation with the CUDA branch's footprint: no fp32 copies of the bf16 tile and weight chunk.

    On CUDA `torch.addmm(..., out_dtype=float32)` adds a bf16 product into the fp32 accumulator in
    place; TRL's CPU branch first copies both operands to fp32 (0.5 GiB for one 32k-row chunk of a
    4096-wide head), memory a GPU never allocates. The product here is [rows, hidden], small.
    """
    acc.add_(torch.mm(a, b).float())


def _triton_fold(*args, **kwargs):
    """Where TRL's Triton kernels fold a logits tile (in place, allocating nothing), for the memory count only."""


def head_bytes(
    vocab: int, hidden_size: int, rows: int, hidden_dtype, weight_dtype, as_on_cuda: bool = True, seed: int = 0
) -> int:
    """Peak bytes TRL's fused LM head allocates on CUDA (forward + backward) over `rows` labelled positions.

    TRL's own forward and backward run here under bf16 autocast, allocating what they allocate on
    CUDA: only the labelled rows, the [rows, 32k] logits tile, the fp32 gradient accumulators, the
    weight chunks cast to bf16. Two CPU-only steps are swapped for their CUDA footprint: the Triton
    kernels that fold each tile in place (TRL's torch fallback makes fp32 copies of the tile), and
    the fp32 accumulation (`_addmm_fp32_as_on_cuda`). The numbers computed are not used: only bytes.
    `as_on_cuda=False` measures TRL's CPU path as it is (what the one-layer run on this CPU allocated).
    """
    from trl.kernels import chunked_logprob
    from trl.trainer.utils import _CHUNKED_LOGPROB_CHUNK_SIZE

    gen = torch.Generator().manual_seed(seed)
    weight = torch.randn(vocab, hidden_size, generator=gen).mul_(0.02).to(weight_dtype)
    hidden = torch.randn(rows, hidden_size, generator=gen).to(hidden_dtype).requires_grad_()
    labels = torch.randint(vocab, (rows,), generator=gen)
    meter = LiveBytes()
    for t in (weight, hidden, labels):
        meter.ignore(t)
    cpu_only = {name: getattr(chunked_logprob, name) for name in ("_addmm_fp32", "_forward_tile", "_backward_tile")}
    if as_on_cuda:
        chunked_logprob._addmm_fp32 = _addmm_fp32_as_on_cuda
        chunked_logprob._forward_tile = chunked_logprob._backward_tile = _triton_fold
    try:
        with meter, torch.autocast("cpu", dtype=torch.bfloat16):
            picked = hidden[labels >= 0]  # TRL gathers the labelled rows first
            log_probs, *_ = chunked_logprob.ChunkedLogProbFunction.apply(
                picked, weight, None, labels, 1.0, _CHUNKED_LOGPROB_CHUNK_SIZE, None, 1.0, ("log_probs",)
            )
            (-log_probs.sum() / rows).backward()
    finally:
        for name, fn in cpu_only.items():
            setattr(chunked_logprob, name, fn)
    return meter.peak


def head_extra(config, layer: dict, labelled_rows: int) -> float:
    """The head phase's extra bytes at the real vocabulary: the one-layer run's, with its small head swapped out.

    The real head is measured as on CUDA at two row counts and extended linearly to
    `labelled_rows` (its tiles and gradients grow with the rows); the small one is measured as the
    one-layer run on this CPU ran it, at `labelled_rows`.
    """
    trainer = layer["trainer"]
    w_dtype = trainer.model.get_base_model().get_output_embeddings().weight.dtype
    h, dt = config.hidden_size, layer["hidden_dtype"]
    r1, r2 = min(256, labelled_rows), min(512, labelled_rows)
    b1 = head_bytes(config.vocab_size, h, r1, dt, w_dtype)
    if r2 > r1:
        b2 = head_bytes(config.vocab_size, h, r2, dt, w_dtype)
        real = b2 + (b2 - b1) / (r2 - r1) * (labelled_rows - r2)
    else:
        real = b1
    small = head_bytes(layer["vocab"], h, labelled_rows, dt, w_dtype, as_on_cuda=False)
    return layer["head_peak_small_vocab"] - small + real


def simulate(
    arch: str, recipe_path: str, batch: int, seq: int, workdir: Path, labelled: float = 1.0, tiny: bool = False
) -> dict:
    """Simulated peak bytes of one training step of the full architecture (see the module docstring)."""
    from gpu_shapes import TINY, arch_config

    shape = TINY if tiny else {}
    config = arch_config(arch, **shape)
    layer = measure_layer(arch, recipe_path, batch, seq, workdir, labelled, shape)
    static = static_bytes(config, layer["recipe"], layer["trainer"])
    n_labelled = batch * max(1, round(seq * labelled))
    more = (config.num_hidden_layers - 1) * layer["per_layer"]
    moments = {
        "last layer forward": layer["fwd_at"] + more + layer["fwd_peak"],
        "LM head": layer["head_at"] + more + head_extra(config, layer, n_labelled),
        "last layer backward": layer["bwd_at"] + more + layer["bwd_peak"],
    }
    worst = max(moments, key=moments.get)
    activations = moments[worst]
    fixed = static["weights"] + static["lora"] + static["grads"] + static["optimizer"]
    return {
        "arch": arch,
        "recipe": recipe_path,
        "batch": batch,
        "seq": seq,
        "checkpointing": layer["checkpointing"],
        "per_layer": layer["per_layer"],
        "layers": config.num_hidden_layers,
        "moments": moments,
        "peak_at": worst,
        "activations": activations,
        **static,
        "peak": fixed + activations,
        "layer_seconds": layer["seconds"],
    }
