"""Training throughput: plain SFTTrainer defaults vs iftkit's recipe settings, same model, rows and tokens.

    .venv/bin/python scripts/bench_train.py [--config recipes/quickstart.yaml] [--rows 64] [--repeats 1]
                                            [--levers] [--no-memory]

Each variant runs in its own process on the same first `--rows` training rows of the recipe's mix,
one epoch, same batch size, learning rate, schedule and data order:

  baseline  SFTTrainer(SFTConfig(output_dir, use_cpu, batch, lr, schedule, max_length)) + the same LoRA:
            TRL defaults otherwise (bf16, gradient checkpointing, padded batches, token metrics)
  tuned     the same SFTTrainer as a knowledgeable user would configure it for a model this size:
            no gradient checkpointing, padding-free batches, bf16 (autocast, and the frozen base
            loaded in bf16) exactly where iftkit uses bf16; TRL's token metrics have no switch
  iftkit    iftkit.training.trainer.make_trainer with the recipe (bf16 auto, no checkpointing,
            padding-free batches, no per-step token metrics, the training.* speed levers)

The three processes train in lockstep: one optimizer step of the baseline, then the same step of
the tuned baseline, then of iftkit, and so on, so all see the same load on a shared machine.
`ratio:` is the median over steps of baseline step time / iftkit step time (the same rows and
tokens), leaving out steps in which torch.compile compiled; their extra time is `compile_s`.
`ratio_vs_tuned:` is the same against the tuned baseline: what iftkit adds beyond settings any
user can pass to TRL. `ratio_end_to_end` divides whole training times (compile included).
`--repeats N` reruns the triple and reports the median ratios.

`peak_fraction:` is iftkit's achieved FLOP/s (4 x linear params x tokens per step: forward +
input-gradient backward of the frozen base, the useful work of a LoRA step; median over steps)
over the bf16 matmul peak measured in this run. `--levers` adds one lockstep pair per lever,
iftkit with that lever off, for the README table. Then peak tensor memory from the allocator
(torch.profiler's memory timeline: weights, LoRA + optimizer states, activations) and peak RSS
for LoRA fp32, LoRA bf16 and QLoRA 4-bit (2 steps each).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_measure import cpu_name, matmul_peak  # noqa: E402  (scripts/ is on the path when run as a script)

MB = 2**20
# iftkit minus one lever: (variant name, recipe overrides, what the lever is)
LEVERS = [
    ("no_label_head", ["--training.lm_head_labelled_only", "false"], "LM head on labelled rows only"),
    ("no_packed_attention", ["--training.packed_attention", "false"], "packed attention (padding-free rows)"),
    ("no_padding_free", ["--training.padding_free", "false"], "padding-free batches"),
    ("token_metrics", ["--training.token_metrics", "true"], "no per-step entropy/accuracy pass"),
    ("checkpointing", ["--training.gradient_checkpointing", "true"], "no gradient checkpointing"),
    ("fp32_frozen", ["--training.bf16", "false"], "bf16 autocast + bf16 frozen weights"),
    ("no_lora_bf16_inputs", ["--training.lora_bf16_inputs", "false"], "LoRA layers keep bf16 inputs"),
    ("no_retain_memory", ["--training.retain_host_memory", "false"], "glibc keeps freed host memory"),
    ("compile", ["--training.compile", "true"], "torch.compile per decoder layer (on)"),
]
MEMORY_VARIANTS = {
    "lora_fp32": ["--training.bf16", "false"],
    "lora_bf16": ["--training.bf16", "true"],
    "qlora_4bit": ["--model.quantization.mode", "4bit"],
}


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

    return sum(
        m.weight.numel()
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and "lora_" not in n and "lm_head" not in n
    )


def _compiled_graphs() -> int:
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def lockstep_callback(turn_dir, slot: int, slots: int):
    """Times each optimizer step; with a turn dir, takes turns with the other workers step by step."""
    from transformers import TrainerCallback

    turn = Path(turn_dir) / "turn" if turn_dir else None

    def others_done():
        return all((Path(turn_dir) / f"done-{i}").exists() for i in range(slots) if i != slot)

    def pass_turn(done=False):
        if turn is None:
            return
        if done:
            (Path(turn_dir) / f"done-{slot}").touch()
        nxt = next(
            (
                j % slots
                for j in range(slot + 1, slot + slots + 1)
                if not (Path(turn_dir) / f"done-{j % slots}").exists()
            ),
            slot,
        )
        tmp = turn.with_suffix(f".{slot}")
        tmp.write_text(str(nxt))
        os.replace(tmp, turn)

    class Lockstep(TrainerCallback):
        def __init__(self):
            self.steps, self.trainer, self.t0 = [], None, 0.0

        def on_step_begin(self, args, state, control, **kw):
            while turn is not None and not others_done():
                try:
                    if int(turn.read_text()) == slot:
                        break
                except (FileNotFoundError, ValueError):
                    if slot == 0:
                        break
                time.sleep(0.01)
            self.graphs, self.tokens0 = _compiled_graphs(), self._tokens()
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            dt = time.perf_counter() - self.t0
            self.steps.append(
                {"s": dt, "tokens": self._tokens() - self.tokens0, "compiled": _compiled_graphs() > self.graphs}
            )
            pass_turn()

        def on_train_end(self, args, state, control, **kw):
            pass_turn(done=True)

        def wait_all_done(self):
            # evaluation after training must not overlap another worker's timed steps
            while turn is not None and not (others_done() and (Path(turn_dir) / f"done-{slot}").exists()):
                time.sleep(0.05)

        def _tokens(self):
            t = self.trainer
            if t is None or not hasattr(t, "flush_tokens"):
                return 0
            return int(t.state.num_input_tokens_seen) + int(getattr(t, "_pending_tokens", 0))

    return Lockstep()


def _build(args, variant, recipe, path, tok, train_ds, val_ds, out, callbacks):
    if variant in ("baseline", "tuned"):
        from trl import SFTConfig, SFTTrainer

        from iftkit.models.load import load_model
        from iftkit.training.sft_inputs import peft_config, use_bf16

        tuned = {}
        model_cfg = recipe.model
        if variant == "tuned":
            bf16 = use_bf16(recipe)
            # padding-free without packing leaves truncation to the user (TRL refuses max_length then):
            # the bench rows are shorter than max_length, so both truncate nothing
            tuned = {"gradient_checkpointing": False, "padding_free": True, "bf16": bf16}
            if bf16 and recipe.model.quantization.mode == "none":
                model_cfg = recipe.model.model_copy(update={"dtype": "bfloat16"})
        # same optimisation (lr, schedule, warmup, seeds) as iftkit: only the speed-related settings differ
        cfg = SFTConfig(
            **tuned,
            output_dir=out,
            use_cpu=True,
            per_device_train_batch_size=recipe.training.per_device_train_batch_size,
            learning_rate=recipe.training.learning_rate,
            lr_scheduler_type=recipe.training.lr_scheduler_type,
            warmup_steps=recipe.training.warmup_ratio,
            max_length=None if tuned else recipe.training.max_length,
            num_train_epochs=1,
            report_to=[],
            logging_steps=1,
            save_strategy="no",
            seed=recipe.training.seed,
            data_seed=recipe.training.seed,
            disable_tqdm=True,
        )
        return SFTTrainer(
            model=load_model(model_cfg, path=path),
            args=cfg,
            train_dataset=train_ds,
            eval_dataset=val_ds,
            processing_class=tok,
            peft_config=peft_config(recipe),
            callbacks=callbacks,
        )
    from iftkit.training.trainer import TrainerExtras, make_trainer

    recipe.training.logging_steps = 1
    recipe.training.save_steps = 10**6
    return make_trainer(recipe, path, tok, train_ds, val_ds, Path(out) / "ck", TrainerExtras(callbacks=callbacks))


def _tensor_mb(tensors) -> float:
    seen, total = set(), 0
    for t in tensors:
        key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        if key not in seen:
            seen.add(key)
            total += key[1]
    return total / MB


def memory_breakdown(trainer) -> dict:
    """Train under torch.profiler's memory timeline; peak MB per kind of tensor the allocator held."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import _CATEGORY_TO_INDEX, Category, MemoryProfileTimeline

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
        trainer.train()
    _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
    col = {c: _CATEGORY_TO_INDEX[c] + 1 for c in _CATEGORY_TO_INDEX}  # column 0 of a timeline row is unused

    def peak(*cats):
        return max(sum(row[col[c]] for c in cats) for row in sizes) / MB

    params = [p for p in trainer.model.parameters()]
    states = [v for s in trainer.optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
    return {
        "weights_mb": _tensor_mb([p for p in params if not p.requires_grad] + list(trainer.model.buffers())),
        "lora_optimizer_mb": _tensor_mb([p for p in params if p.requires_grad] + states)
        + _tensor_mb([p.grad for p in params if p.grad is not None]),
        "activations_mb": peak(Category.ACTIVATION, Category.AUTOGRAD_DETAIL, Category.TEMPORARY, Category.INPUT, None),
        "peak_tensor_mb": peak(*col),
    }


def worker(args) -> dict:
    """Train one variant; return its measurements (run in a fresh process)."""
    from iftkit.models.load import load_tokenizer
    from iftkit.models.resolve import resolve_model

    variant = args.worker
    memory = variant in MEMORY_VARIANTS
    overrides = MEMORY_VARIANTS.get(variant) or dict((n, o) for n, o, _ in LEVERS).get(variant, [])
    recipe = _recipe(args, [*overrides, "--training.max_steps", "2"] if memory else overrides)
    if not memory:
        recipe.training.max_steps, recipe.training.num_train_epochs = -1, 1
    path = resolve_model(recipe.model.id, recipe.model.revision)
    tok = load_tokenizer(path)
    train_ds, val_ds = _datasets(args)
    out = tempfile.mkdtemp(prefix=f"bench-{variant}-")
    timer = lockstep_callback(args.turn_dir, args.slot, args.slots)
    kind = variant if variant in ("baseline", "tuned") else "iftkit"
    trainer = _build(args, kind, recipe, path, tok, train_ds, val_ds, out, [timer])
    timer.trainer = trainer
    n_linear = _linear_params(trainer.model)
    result = {"variant": variant, "bf16": bool(trainer.args.bf16), "levers": getattr(trainer, "speed_levers", {})}
    if memory:
        result.update(memory_breakdown(trainer))
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result
    start = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - start
    timer.wait_all_done()
    tokens = trainer._total_train_tokens if kind != "iftkit" else trainer.flush_tokens()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    val_loss = trainer.evaluate()["eval_loss"] if val_ds is not None else None
    # in lockstep the train() wall time includes the other worker's turns: count this worker's steps only
    step_s = sum(st["s"] for st in timer.steps) if args.turn_dir else train_s
    return result | {
        "tokens": int(tokens),
        "train_s": step_s,
        "tokens_per_s": tokens / step_s,
        "steps": timer.steps,
        "first_loss": losses[0] if losses else None,
        "n_linear": n_linear,
        "final_loss": sum(losses[-3:]) / len(losses[-3:]) if losses else None,
        "val_loss": val_loss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_variants(args, variants: list[str]) -> dict:
    """Run the variants in parallel processes that take turns step by step; return their results."""
    turn_dir = tempfile.mkdtemp(prefix="bench-turns-")
    procs = {}
    for slot, variant in enumerate(variants):
        result_path = Path(turn_dir) / f"{variant}.json"
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            variant,
            "--result",
            str(result_path),
            "--config",
            args.config,
            "--mix-dir",
            str(args.mix_dir),
            "--rows",
            str(args.rows),
            "--val-rows",
            str(args.val_rows),
            "--turn-dir",
            turn_dir if len(variants) > 1 else "",
            "--slot",
            str(slot),
            "--slots",
            str(len(variants)),
        ]
        err_path = Path(turn_dir) / f"{variant}.stderr"
        with open(err_path, "w") as err:
            procs[variant] = (subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err), result_path, err_path)
    # a worker that dies mid-lockstep would hold the turn forever: stop every worker at the first failure
    while any(proc.poll() is None for proc, _, _ in procs.values()):
        for variant, (proc, _, err_path) in procs.items():
            if proc.poll() not in (None, 0):
                for other, _, _ in procs.values():
                    other.kill()
                sys.exit(f"variant {variant} failed:\n{err_path.read_text()[-3000:]}")
        time.sleep(0.5)
    results = {}
    for variant, (proc, result_path, err_path) in procs.items():
        if proc.returncode != 0:
            sys.exit(f"variant {variant} failed:\n{err_path.read_text()[-3000:]}")
        results[variant] = json.loads(result_path.read_text())
    return results


def compare(base: dict, fast: dict) -> dict:
    """Per-step time ratios (steps where neither compiled) and the compile time they leave out."""
    pairs = list(zip(base["steps"], fast["steps"]))
    steady = [(b, f) for b, f in pairs if not b["compiled"] and not f["compiled"]]
    ratio = statistics.median(b["s"] / f["s"] for b, f in steady)
    compile_s = sum(f["s"] - b["s"] / ratio for b, f in pairs if f["compiled"])
    return {
        "ratio": ratio,
        "compile_s": compile_s,
        "steady_s": sum(f["s"] for _, f in steady),
        "steady_tokens": sum(f["tokens"] for _, f in steady),
        "end_to_end": fast["tokens_per_s"] / base["tokens_per_s"],
    }


def achieved_flops(r: dict) -> float:
    """Median over non-compiling steps of 4 x linear params x tokens / step time."""
    return statistics.median(
        4 * r["n_linear"] * s["tokens"] / s["s"] for s in r["steps"] if not s["compiled"] and s["tokens"]
    )


def ensure_mix(args) -> Path:
    if args.mix_dir:
        return Path(args.mix_dir)
    from iftkit.data.mix import build_mix

    recipe = _recipe(args)
    return build_mix(recipe, Path("runs") / "bench" / recipe.name / "mix")


def _loss(x) -> str:
    return f"{x:.4f}" if x is not None else "-"


def report_pair(name: str, base: dict, fast: dict, cmp: dict, peaks: dict, tuned=None) -> None:
    for label, r in (("baseline", base), *((("tuned", tuned),) if tuned else ()), (name, fast)):
        print(
            f"{label:20s} tokens/s: {r['tokens_per_s']:.1f}  ({r['tokens']} tokens, {len(r['steps'])} steps, "
            f"{r['train_s']:.1f} s)  loss: {_loss(r['first_loss'])} -> {_loss(r['final_loss'])}  "
            f"val_loss: {_loss(r['val_loss'])}  peak_rss: {r['peak_rss_mb']:.0f} MB"
        )
    print(
        f"{name:20s} step-time ratio (median of {len(fast['steps'])} lockstep steps): {cmp['ratio']:.2f}  "
        f"end to end: {cmp['end_to_end']:.2f}  compile: {cmp['compile_s']:.1f} s  "
        f"achieved: {achieved_flops(fast) / 1e9:.0f} GFLOP/s "
        f"({achieved_flops(fast) / peaks['bfloat16']:.1%} of bf16 peak)"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="recipes/quickstart.yaml")
    p.add_argument("--mix-dir", help="built mix to train on (default: build the recipe's mix under runs/bench/)")
    p.add_argument("--rows", type=int, default=64, help="training rows per variant (one epoch)")
    p.add_argument("--val-rows", type=int, default=16, help="validation rows for the final val loss (0: skip)")
    p.add_argument("--repeats", type=int, default=1, help="baseline/iftkit pairs to run (median ratio)")
    p.add_argument("--levers", action="store_true", help="also run iftkit with each speed lever switched")
    p.add_argument("--no-memory", action="store_true", help="skip the LoRA fp32/bf16 vs QLoRA memory comparison")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--turn-dir", default="", help=argparse.SUPPRESS)
    p.add_argument("--slot", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--slots", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("WANDB_MODE", "disabled")
    if args.worker:
        Path(args.result).write_text(json.dumps(worker(args)))
        return 0

    args.mix_dir = ensure_mix(args)
    import torch

    print(
        f"cpu: {cpu_name()}  threads: {torch.get_num_threads()}  rows: {args.rows}  config: {args.config}  "
        f"load average: {os.getloadavg()[0]:.2f}"
    )
    peaks = {"float32": matmul_peak("float32"), "bfloat16": matmul_peak("bfloat16")}
    ratios, tuned_ratios, pairs = [], [], []
    for _ in range(args.repeats):
        res = run_variants(args, ["baseline", "tuned", "iftkit"])
        cmp = compare(res["baseline"], res["iftkit"])
        vs_tuned = compare(res["tuned"], res["iftkit"])
        ratios.append(cmp["ratio"])
        tuned_ratios.append(vs_tuned["ratio"])
        pairs.append((res, cmp))
        report_pair("iftkit", res["baseline"], res["iftkit"], cmp, peaks, tuned=res["tuned"])
        print(f"tuned baseline: step-time ratio iftkit vs tuned {vs_tuned['ratio']:.2f}, "
              f"tuned vs TRL defaults {compare(res['baseline'], res['tuned'])['ratio']:.2f}  "
              f"(tuned bf16: {res['tuned']['bf16']})")
        print(f"load average: {os.getloadavg()[0]:.2f}")
    lever_rows = []
    if args.levers:
        for name, _, what in LEVERS:
            res = run_variants(args, ["baseline", name])
            cmp = compare(res["baseline"], res[name])
            report_pair(name, res["baseline"], res[name], cmp, peaks)
            lever_rows.append((name, what, cmp, res[name]))
    # a second peak reading at the end: the machine may have been busier at the start
    peaks["bfloat16"] = max(peaks["bfloat16"], matmul_peak("bfloat16"))
    print(
        f"matmul peak: fp32 {peaks['float32'] / 1e9:.0f} GFLOP/s, bf16 {peaks['bfloat16'] / 1e9:.0f} GFLOP/s  "
        f"load average: {os.getloadavg()[0]:.2f}"
    )
    res, cmp = sorted(pairs, key=lambda pc: pc[1]["ratio"])[len(pairs) // 2]
    base, fast = res["baseline"], res["iftkit"]
    print(
        f"train_loss: baseline {_loss(base['final_loss'])}  iftkit {_loss(fast['final_loss'])}  "
        f"val_loss: baseline {_loss(base['val_loss'])}  iftkit {_loss(fast['val_loss'])}"
    )
    print(f"compile_s: {cmp['compile_s']:.1f}  ratio_end_to_end: {cmp['end_to_end']:.2f}")
    print(f"peak_fraction: {achieved_flops(fast) / peaks['bfloat16']:.3f}")
    print(
        f"ratio: {statistics.median(ratios):.2f}"
        + (f"  (repeats: {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else "")
    )
    print(
        f"ratio_vs_tuned: {statistics.median(tuned_ratios):.2f}"
        + (f"  (repeats: {', '.join(f'{r:.2f}' for r in tuned_ratios)})" if len(tuned_ratios) > 1 else "")
    )
    if lever_rows:
        print("| lever (iftkit with it switched) | tokens/s vs baseline | final loss | val loss |")
        for name, what, c, r in lever_rows:
            print(f"| {name}: {what} | {c['ratio']:.2f}x | {_loss(r['final_loss'])} | {_loss(r['val_loss'])} |")
    if not args.no_memory:
        for variant in MEMORY_VARIANTS:
            m = run_variants(args, [variant])[variant]
            print(
                f"memory {variant:10s} peak tensors {m['peak_tensor_mb']:.0f} MB: weights {m['weights_mb']:.0f} MB, "
                f"LoRA + optimizer states {m['lora_optimizer_mb']:.1f} MB, activations {m['activations_mb']:.0f} MB;  "
                f"peak RSS {m['peak_rss_mb']:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
