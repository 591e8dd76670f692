"""Training throughput: plain SFTTrainer defaults vs iftkit's recipe settings, same model, rows and tokens.

    .venv/bin/python scripts/bench_train.py [--config recipes/quickstart.yaml] [--rows 64] [--no-memory]

Each variant runs in its own process (so peak RSS is its own) on the same first `--rows`
training rows of the recipe's mix, one epoch, same batch size and learning rate:

  baseline  SFTTrainer(SFTConfig(output_dir, use_cpu, batch, lr, schedule, max_length)) + the same LoRA:
            TRL defaults otherwise (bf16, gradient checkpointing, padded batches, token metrics)
  iftkit    iftkit.training.trainer.make_trainer with the recipe (bf16 auto, no checkpointing,
            padding-free batches, no per-step entropy/accuracy metrics)

Prints tokens/s (non-padding tokens / training seconds) for both, `ratio: X` (iftkit/baseline),
final training and validation losses, peak RSS, and achieved FLOP/s (4 x linear params x tokens:
forward + input-gradient backward of the frozen base, the useful work of a LoRA step) as a fraction
of a dense matmul peak measured in this run. Then LoRA fp32 vs QLoRA 4-bit peak memory.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def matmul_peak(dtype_name: str, n: int = 2048, reps: int = 6) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def _recipe(args, overrides=()):
    from iftkit.config import load_recipe

    return load_recipe(args.config, ["--tracking.mode", "disabled", *overrides])


def _datasets(args):
    from iftkit.data.rows import read_rows
    from iftkit.training.dataset import rows_to_dataset

    mix = Path(args.mix_dir)
    train = read_rows(mix / "train.jsonl")[: args.rows]
    val = read_rows(mix / "val.jsonl")[: args.val_rows] if args.val_rows else []
    return rows_to_dataset(train), (rows_to_dataset(val) if val else None)


def _linear_params(model) -> int:
    import torch

    return sum(m.weight.numel() for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and "lora_" not in n and "lm_head" not in n)


def worker(args) -> dict:
    """Train one variant; return its measurements (run in a fresh process)."""
    from iftkit.models.load import load_tokenizer
    from iftkit.models.resolve import resolve_model
    from iftkit.training.setup import peft_config

    variant = args.worker
    overrides = {"lora_fp32": ["--training.bf16", "false", "--training.max_steps", "2"],
                 "qlora_4bit": ["--model.quantization.mode", "4bit", "--training.max_steps", "2"]}.get(variant, [])
    recipe = _recipe(args, overrides)
    path = resolve_model(recipe.model.id, recipe.model.revision)
    tok = load_tokenizer(path)
    train_ds, val_ds = _datasets(args)
    out = tempfile.mkdtemp(prefix=f"bench-{variant}-")
    bs, lr = recipe.training.per_device_train_batch_size, recipe.training.learning_rate
    if variant == "baseline":
        from trl import SFTConfig, SFTTrainer

        from iftkit.models.load import load_model

        # same optimisation (lr, schedule, warmup, seeds) as iftkit: only the speed-related settings differ
        cfg = SFTConfig(output_dir=out, use_cpu=True, per_device_train_batch_size=bs, learning_rate=lr,
                        lr_scheduler_type=recipe.training.lr_scheduler_type, warmup_steps=recipe.training.warmup_ratio,
                        max_length=recipe.training.max_length, num_train_epochs=1, report_to=[], logging_steps=1,
                        save_strategy="no", seed=recipe.training.seed, data_seed=recipe.training.seed, disable_tqdm=True)
        trainer = SFTTrainer(model=load_model(recipe.model, path=path), args=cfg, train_dataset=train_ds,
                             eval_dataset=val_ds, processing_class=tok, peft_config=peft_config(recipe))
    else:
        from iftkit.training.trainer import make_trainer

        if variant == "iftkit":
            recipe.training.max_steps = -1
            recipe.training.num_train_epochs = 1
        recipe.training.logging_steps = 1
        recipe.training.save_steps = 10**6
        trainer = make_trainer(recipe, path, tok, train_ds, val_ds, Path(out) / "ck")
    weights_mb = trainer.model.get_memory_footprint() / 2**20
    n_linear = _linear_params(trainer.model)
    start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - start
    if variant == "baseline":
        tokens = trainer._total_train_tokens
    else:
        tokens = trainer.flush_tokens()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    val_loss = trainer.evaluate()["eval_loss"] if (val_ds is not None and variant in ("baseline", "iftkit")) else None
    return {
        "variant": variant, "tokens": int(tokens), "train_s": train_s, "tokens_per_s": tokens / train_s,
        "steps": trainer.state.global_step, "first_loss": losses[0] if losses else None,
        "final_loss": sum(losses[-3:]) / len(losses[-3:]) if losses else None, "val_loss": val_loss,
        "bf16": bool(trainer.args.bf16), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "weights_mb": weights_mb, "flops": 4 * n_linear * tokens,
    }


def run_variant(args, variant: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_path = f.name
    cmd = [sys.executable, __file__, "--worker", variant, "--result", result_path, "--config", args.config,
           "--mix-dir", str(args.mix_dir), "--rows", str(args.rows), "--val-rows", str(args.val_rows)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"variant {variant} failed:\n{res.stderr[-3000:]}")
    data = json.loads(Path(result_path).read_text())
    os.unlink(result_path)
    return data


def ensure_mix(args) -> Path:
    if args.mix_dir:
        return Path(args.mix_dir)
    from iftkit.data.mix import build_mix

    recipe = _recipe(args)
    return build_mix(recipe, Path("runs") / "bench" / recipe.name / "mix")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="recipes/quickstart.yaml")
    p.add_argument("--mix-dir", help="built mix to train on (default: build the recipe's mix under runs/bench/)")
    p.add_argument("--rows", type=int, default=64, help="training rows per variant (one epoch)")
    p.add_argument("--val-rows", type=int, default=16, help="validation rows for the final val loss (0: skip)")
    p.add_argument("--no-memory", action="store_true", help="skip the LoRA fp32 vs QLoRA memory comparison")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "disabled")
    if args.worker:
        Path(args.result).write_text(json.dumps(worker(args)))
        return 0

    args.mix_dir = ensure_mix(args)
    import torch

    print(f"threads: {torch.get_num_threads()}  rows: {args.rows}  config: {args.config}")
    peaks = {"float32": matmul_peak("float32"), "bfloat16": matmul_peak("bfloat16")}
    print(f"matmul peak: fp32 {peaks['float32'] / 1e9:.0f} GFLOP/s, bf16 {peaks['bfloat16'] / 1e9:.0f} GFLOP/s")
    results = {v: run_variant(args, v) for v in ("baseline", "iftkit")}
    for name, r in results.items():
        peak = peaks["bfloat16" if r["bf16"] else "float32"]
        achieved = r["flops"] / r["train_s"]
        val = f"{r['val_loss']:.4f}" if r["val_loss"] is not None else "-"
        print(f"{name:9s} tokens/s: {r['tokens_per_s']:.1f}  ({r['tokens']} tokens, {r['steps']} steps, {r['train_s']:.1f} s)"
              f"  loss: {r['first_loss']:.4f} -> {r['final_loss']:.4f}  val_loss: {val}  peak_rss: {r['peak_rss_mb']:.0f} MB"
              f"  achieved: {achieved / 1e9:.0f} GFLOP/s = {achieved / peak:.0%} of {'bf16' if r['bf16'] else 'fp32'} matmul peak")
    print(f"ratio: {results['iftkit']['tokens_per_s'] / results['baseline']['tokens_per_s']:.2f}")
    if not args.no_memory:
        mem = {v: run_variant(args, v) for v in ("lora_fp32", "qlora_4bit")}
        lo, q = mem["lora_fp32"], mem["qlora_4bit"]
        print(f"memory: LoRA fp32 peak_rss {lo['peak_rss_mb']:.0f} MB (weights {lo['weights_mb']:.0f} MB), "
              f"QLoRA 4-bit peak_rss {q['peak_rss_mb']:.0f} MB (weights {q['weights_mb']:.0f} MB)")
        print(f"qlora_memory_ratio: {q['peak_rss_mb'] / lo['peak_rss_mb']:.2f} (peak RSS)  "
              f"{q['weights_mb'] / lo['weights_mb']:.2f} (weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
