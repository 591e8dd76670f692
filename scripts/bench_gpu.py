"""The 7-8B GPU recipes, shape-true with random weights: peak memory and tokens/s on a GPU, simulated memory on a CPU.

    .venv/bin/python scripts/bench_gpu.py [--recipe recipes/llama3.1-8b/sft/lora.yaml] [--steps 10]
                                          [--batch 2 --seq 2048]                # train one recipe (needs CUDA)
    .venv/bin/python scripts/bench_gpu.py --all                                 # the GPU run: LoRA + QLoRA + generation
    .venv/bin/python scripts/bench_gpu.py --simulate                            # CPU: the simulated memory table
    .venv/bin/python scripts/bench_gpu.py --tiny [--all | --simulate]           # the same code, 2-layer shape, on CPU

Training goes through iftkit's own path: the recipe (model dtype, 4-bit quantisation, LoRA,
precision, gradient checkpointing) -> `iftkit.training.trainer.make_trainer` -> TRL's
SFTTrainer. The weights are random, written once from the architecture's facts
(`recipes/gpu/architectures/<name>.json`) into `--workdir`, and loaded by the recipe as real
weights would be. The rows are random token ids, exactly `--seq` long, `--batch` per step
(padding-free), the loss on the last `--labelled` share of each row; one optimizer step per
micro-batch (no accumulation). Reported: `torch.cuda.max_memory_allocated` and
`max_memory_reserved` over the training steps, and tokens/s over the steps after `--warmup`.
On a CPU (`--tiny`), "peak" is the weights plus the peak of the tensors the step allocates,
counted by scripts/gpu_memory.py's LiveBytes: the same quantity `max_memory_allocated` reports.

`--all` runs Llama-3.1-8B LoRA and QLoRA at torchtune's published setup (batch 2 x 2,048
tokens), then generation throughput on the same model: iftkit's greedy loop against
`model.generate` (and vLLM where it imports), and prints one table. `--simulate` prints the
memory each recipe needs, simulated on the CPU by scripts/gpu_memory.py, next to torchtune's
figures for Llama-3.1-8B on an RTX 4090.
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_shapes import (  # noqa: E402
    CUDA_PATH_ON_CPU,
    RECIPES,
    TINY,
    arch_config,
    arch_for_recipe,
    bench_recipe,
    random_checkpoint,
    token_rows,
)

ROOT = Path(__file__).resolve().parent.parent
GIB = 2**30
# torchtune's published Llama-3.1-8B figures (RTX 4090, batch 2, 2,048 packed tokens): peak GiB, tokens/s
TORCHTUNE = {"lora": (16.2, 3083), "qlora": (7.4, 2413)}
TORCHTUNE_SHAPE = (2, 2048)


def method_of(recipe_path: str) -> str:
    return "qlora" if Path(recipe_path).stem == "qlora" else "lora"


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def step_timer():
    """A callback timing each optimizer step (device-synchronised)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.steps = []

        def on_step_begin(self, args, state, control, **kw):
            _sync()
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            _sync()
            self.steps.append(time.perf_counter() - self.t0)

    return StepTimer()


def model_config(arch: str, tiny: bool):
    return arch_config(arch, **TINY) if tiny else arch_config(arch)


def train_shape(recipe_path: str, args) -> dict:
    """Train the recipe's architecture with random weights for warmup + steps optimizer steps; measure it."""
    import torch
    from gpu_memory import weight_bytes

    from iftkit.testing.tiny import make_tokenizer
    from iftkit.training.trainer import TrainerExtras, make_trainer

    arch = arch_for_recipe(recipe_path)
    config = model_config(arch, args.tiny)
    cuda = _cuda()
    ckpt = random_checkpoint(config, Path(args.workdir) / "checkpoints", device="cuda" if cuda else "cpu")
    total = args.warmup + args.steps
    recipe = bench_recipe(recipe_path, args.batch, args.seq, total, [] if cuda else CUDA_PATH_ON_CPU)
    timer = step_timer()
    rows = token_rows(args.batch * total, args.seq, config.vocab_size, args.labelled)
    trainer = make_trainer(
        recipe, str(ckpt), make_tokenizer(), rows, None, Path(args.workdir) / "out", TrainerExtras(callbacks=[timer])
    )
    model = trainer.model
    weights = weight_bytes(model)
    meter = None
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    else:
        from gpu_memory import LiveBytes, ignore_existing

        meter = LiveBytes()
        ignore_existing(meter, model)
    started = time.perf_counter()
    if meter is not None:
        with meter:
            trainer.train()
    else:
        trainer.train()
    wall = time.perf_counter() - started
    tokens = trainer.flush_tokens()
    timed = timer.steps[args.warmup:] or timer.steps
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    out = {
        "recipe": recipe_path,
        "arch": arch,
        "method": method_of(recipe_path),
        "layers": config.num_hidden_layers,
        "batch": args.batch,
        "seq": args.seq,
        "steps": len(timer.steps),
        "timed_steps": len(timed),
        "tokens": int(tokens),
        "tokens_per_s": args.batch * args.seq * len(timed) / sum(timed),
        "step_s": statistics.median(timed),
        "wall_s": wall,
        "losses": losses,
        "checkpointing": bool(recipe.training.gradient_checkpointing),
        "levers": {k: v for k, v in trainer.speed_levers.items()},
        "weights_bytes": weights,
        "quantized_4bit": any(type(p).__name__ == "Params4bit" for p in model.parameters()),
        "device": torch.cuda.get_device_name() if cuda else "cpu",
    }
    if cuda:
        out["peak_allocated"] = torch.cuda.max_memory_allocated()
        out["peak_reserved"] = torch.cuda.max_memory_reserved()
    else:
        out["peak_allocated"] = weights + meter.peak
        out["peak_reserved"] = None
    out["lora_changed"] = any(
        float(p.detach().float().abs().sum()) > 0 for n, p in model.named_parameters() if "lora_B" in n
    )
    del trainer, model
    gc.collect()  # the next run's peak must not include this one's model
    if cuda:
        torch.cuda.empty_cache()
    return out


def _gib(x) -> str:
    return "-" if x is None else f"{x / GIB:.2f} GiB"


def print_train(r: dict) -> None:
    print(
        f"train {r['arch']} {r['method']} ({r['layers']} layers, {r['device']}): "
        f"batch {r['batch']} x {r['seq']} tokens, "
        f"{r['timed_steps']} timed steps of {r['steps']}: {r['tokens_per_s']:.0f} tok/s "
        f"(median step {r['step_s']:.3f} s), peak allocated {_gib(r['peak_allocated'])}, "
        f"reserved {_gib(r['peak_reserved'])}, loss {r['losses'][0]:.3f} -> {r['losses'][-1]:.3f}",
        flush=True,
    )


def generation(args, recipe_path: str) -> list[dict]:
    """New tokens/s of iftkit's greedy loop, model.generate and (if importable) vLLM on the recipe's random model."""
    import random

    import torch

    arch = arch_for_recipe(recipe_path)
    config = model_config(arch, args.tiny)
    cuda = _cuda()
    ckpt = random_checkpoint(config, Path(args.workdir) / "checkpoints", device="cuda" if cuda else "cpu")
    rng = random.Random(0)
    lo, hi = args.gen_prompt_len
    prompts = [
        [rng.randrange(3, config.vocab_size) for _ in range(rng.randint(lo, hi))] for _ in range(args.gen_prompts)
    ]
    results = hf_generation(args, recipe_path, ckpt, prompts)
    if cuda:  # the transformers model is gone: vLLM gets the whole device
        torch.cuda.empty_cache()
    results.append(vllm_generation(ckpt, prompts, args.gen_new_tokens) if cuda else
                   {"engine": "vLLM", "skipped": "no CUDA"})
    return results


def hf_generation(args, recipe_path: str, ckpt: Path, prompts: list) -> list[dict]:
    import torch

    from iftkit.models.chat.greedy import DecodeSettings, greedy_decode
    from iftkit.models.load import load_model

    recipe = bench_recipe(recipe_path, args.batch, args.seq, 1)
    model = load_model(recipe.model, path=str(ckpt)).to("cuda" if _cuda() else "cpu").eval()
    pad = 0
    results = []

    def timed(fn):
        _sync()
        t = time.perf_counter()
        out = fn()
        _sync()
        return out, time.perf_counter() - t

    # random weights seldom pick any given token: no stop token, every row decodes max_new_tokens
    n = args.gen_new_tokens
    greedy_decode(model, prompts[:2], DecodeSettings(2, frozenset(), pad))  # warm-up
    ours, s = timed(lambda: greedy_decode(model, prompts, DecodeSettings(n, frozenset(), pad))[0])
    results.append({"engine": "iftkit greedy loop", "tokens": sum(map(len, ours)), "s": s})

    def generate():
        width = max(map(len, prompts))
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=model.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                eos_token_id=None, pad_token_id=pad,
            )
        return [row[width:].tolist() for row in out]

    theirs, s = timed(generate)
    same = sum(a == b for a, b in zip(ours, theirs))
    results.append({"engine": "model.generate", "tokens": sum(map(len, theirs)), "s": s,
                    "same_as_iftkit": f"{same}/{len(prompts)}"})
    return results


def vllm_generation(ckpt, prompts, n) -> dict:
    try:
        from vllm import LLM, SamplingParams
    except ImportError as e:
        return {"engine": "vLLM", "skipped": f"not importable ({e.__class__.__name__}: {e})"}
    try:
        llm = LLM(model=str(ckpt), skip_tokenizer_init=True, dtype="bfloat16", gpu_memory_utilization=0.85,
                  max_model_len=4096, seed=0)
        params = SamplingParams(max_tokens=n, min_tokens=n, temperature=0.0, ignore_eos=True, detokenize=False)
        inputs = [{"prompt_token_ids": p} for p in prompts]
        llm.generate(inputs[:2], SamplingParams(max_tokens=2, detokenize=False))  # warm-up
        t = time.perf_counter()
        outs = llm.generate(inputs, params)
        s = time.perf_counter() - t
        return {"engine": "vLLM", "tokens": sum(len(o.outputs[0].token_ids) for o in outs), "s": s}
    except Exception as e:  # a failed vLLM start must not lose the rest of the run's table
        return {"engine": "vLLM", "skipped": f"failed ({e.__class__.__name__}: {str(e)[:200]})"}


def print_generation(results: list[dict], args) -> None:
    print(f"generation: {args.gen_prompts} prompts of {args.gen_prompt_len[0]}-{args.gen_prompt_len[1]} tokens, "
          f"{args.gen_new_tokens} new tokens each, greedy, bf16, one batch")
    print("| engine | new tokens/s | identical to iftkit |")
    print("|---|---|---|")
    for r in results:
        if "skipped" in r:
            print(f"| {r['engine']} | skipped: {r['skipped']} | |")
        else:
            print(f"| {r['engine']} | {r['tokens'] / r['s']:.0f} | {r.get('same_as_iftkit', '-')} |")


def simulated_rows(args) -> list[dict]:
    """Each shipped GPU recipe at its own batch x max_length; Llama-3.1-8B also at torchtune's setup."""
    from gpu_memory import simulate

    from iftkit.config import load_recipe

    if args.tiny:
        return [simulate(arch_for_recipe(r), r, args.batch, args.seq, Path(args.workdir), args.labelled, tiny=True)
                for r in args.recipes]
    rows = []
    for arch, (lora, qlora) in RECIPES.items():
        for recipe_path in (lora, qlora):
            t = load_recipe(str(ROOT / recipe_path), ["--tracking.mode", "disabled"]).training
            shape = (t.per_device_train_batch_size, t.max_length)
            rows.append((arch, recipe_path, shape))
            if arch == "llama3.1-8b":
                rows.append((arch, recipe_path, TORCHTUNE_SHAPE))
    out = []
    for arch, recipe_path, (batch, seq) in rows:
        res = simulate(arch, recipe_path, batch, seq, Path(args.workdir), args.labelled)
        print_simulated_row(res, header=not out)
        out.append(res)
    return out


def print_simulated_row(r: dict, header: bool = False) -> None:
    if header:
        print("| recipe | batch x tokens | weights | LoRA + grads + optimizer | activations (peak at) | "
              "simulated peak | torchtune (RTX 4090) |")
        print("|---|---|---|---|---|---|---|")
    method = method_of(r["recipe"])
    tt = ""
    if r["arch"] == "llama3.1-8b" and (r["batch"], r["seq"]) == TORCHTUNE_SHAPE:
        gib, tps = TORCHTUNE[method]
        tt = f"{gib} GiB, {tps:,} tok/s"
    print(
        f"| `{r['recipe']}` | {r['batch']} x {r['seq']:,} | {r['weights'] / GIB:.2f} GiB | "
        f"{(r['lora'] + r['grads'] + r['optimizer']) / GIB:.2f} GiB | {r['activations'] / GIB:.2f} GiB "
        f"({r['peak_at']}) | **{r['peak'] / GIB:.1f} GiB** | {tt} |",
        flush=True,
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", action="append", dest="recipes", help="recipe to train (repeatable); "
                   "default recipes/llama3.1-8b/sft/lora.yaml")
    p.add_argument("--steps", type=int, default=8, help="timed optimizer steps (after --warmup)")
    p.add_argument("--warmup", type=int, default=2, help="untimed first steps (allocator and kernel warm-up)")
    p.add_argument("--batch", type=int, default=TORCHTUNE_SHAPE[0], help="rows per step")
    p.add_argument("--seq", type=int, default=TORCHTUNE_SHAPE[1], help="tokens per row")
    p.add_argument("--labelled", type=float, default=1.0, help="share of each row's tokens in the loss")
    p.add_argument("--tiny", action="store_true", help="2-layer shape of the same architecture, on CPU")
    p.add_argument("--simulate", action="store_true", help="print simulated memory (CPU) instead of training")
    p.add_argument("--all", action="store_true", help="LoRA + QLoRA of Llama-3.1-8B + generation, one table")
    p.add_argument("--gen-prompts", type=int, default=32)
    p.add_argument("--gen-prompt-len", type=int, nargs=2, default=(64, 256), metavar=("MIN", "MAX"))
    p.add_argument("--gen-new-tokens", type=int, default=128)
    p.add_argument("--workdir", default=None, help="random checkpoints and trainer output "
                   "(default: $IFTKIT_CACHE/bench_gpu, ~16 GB per 8B architecture)")
    args = p.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "disabled")
    if args.workdir is None:
        from iftkit.core.paths import cache_dir

        args.workdir = str(cache_dir() / "bench_gpu")
    if args.tiny:
        args.seq = min(args.seq, 256)
    if args.all:
        args.recipes = list(RECIPES["llama3.1-8b"])
    args.recipes = args.recipes or [RECIPES["llama3.1-8b"][0]]
    if args.simulate:
        print(f"simulated on CPU ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}); "
              f"loss on {args.labelled:.0%} of the tokens")
        rows = simulated_rows(args)
        if args.tiny:
            for r in rows:
                print_simulated_row(r, header=r is rows[0])
        return 0
    if not _cuda() and not args.tiny:
        print("bench_gpu: no CUDA device here: --tiny runs the same code on CPU at 2 layers, "
              "--simulate prints the simulated memory", file=sys.stderr)
        return 2
    results = []
    for recipe_path in args.recipes:
        r = train_shape(recipe_path, args)
        print_train(r)
        results.append(r)
    if args.all:
        print("| recipe | batch x tokens | peak allocated | peak reserved | tokens/s | torchtune (RTX 4090) |")
        print("|---|---|---|---|---|---|")
        for r in results:
            gib, tps = TORCHTUNE[r["method"]]
            same_setup = not args.tiny and (r["batch"], r["seq"]) == TORCHTUNE_SHAPE
            print(f"| `{r['recipe']}` | {r['batch']} x {r['seq']:,} | {_gib(r['peak_allocated'])} | "
                  f"{_gib(r['peak_reserved'])} | {r['tokens_per_s']:.0f} | "
                  f"{f'{gib} GiB, {tps:,} tok/s' if same_setup else '-'} |")
        print_generation(generation(args, args.recipes[0]), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
