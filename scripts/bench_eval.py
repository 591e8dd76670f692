"""Benchmark eval generation and caching in one run.

1. The same prompts generated one at a time and in length-sorted left-padded batches
   (same code path, batch size 1 vs N): prints both throughputs and `speedup: X` (goal >= 5x).
   The speedup is measured in process CPU time by default, with torch on --threads 1:
   on a machine shared with other jobs, wall time mostly measures the neighbours
   (--measure wall for wall-clock; both are always printed).
2. A small eval (base model, every scorer but reward, local judge) run twice into the same
   output dir and caches: prints the cached rerun's time and its model / judge call counts
   (goal: zero of each).

    .venv/bin/python scripts/bench_eval.py            # SmolLM2 default model, ~2-4 min on 2 cores
    .venv/bin/python scripts/bench_eval.py --model /path/to/model --prompts 64 --batch-size 32
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bench_generation(model_path, n_prompts, batch_size, max_new_tokens, measure="cpu"):
    from iftkit.config.schema import ModelConfig
    from iftkit.evaluation.suites import load_instruction_set
    from iftkit.models.chat.local import TransformersChat
    from iftkit.models.chat.types import GenConfig

    rows = load_instruction_set()
    prompts = [rows[i % len(rows)].prompt for i in range(n_prompts)]
    chat = TransformersChat(ModelConfig(id=model_path), model_path, batch_size=2)
    chat.complete_many(prompts[:2], GenConfig(max_new_tokens=4))  # warm-up
    results = {}
    for label, bs in (("one-at-a-time", 1), (f"batched (batch {batch_size})", batch_size)):
        chat.batch_size = bs
        wall, cpu = time.perf_counter(), time.process_time()
        got = chat.complete_many(prompts, GenConfig(max_new_tokens=max_new_tokens))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        texts = [c.text for c in got]
        tokens = sum(c.completion_tokens for c in got)
        results[label] = (wall, cpu, texts)
        print(
            f"{label:>22}: {len(prompts)} prompts, {tokens} new tokens; wall {wall:.1f} s ({tokens / wall:.1f} tok/s), "
            f"cpu {cpu:.1f} s ({tokens / cpu:.1f} tok/cpu-s)"
        )
    (w1, c1, single), (wb, cb, batched) = results.values()
    same = sum(a == b for a, b in zip(single, batched))
    print(f"identical outputs: {same}/{len(prompts)}")
    print(f"wall-clock speedup: {w1 / wb:.1f}x; cpu-time speedup: {c1 / cb:.1f}x")
    print(f"speedup: {(c1 / cb if measure == 'cpu' else w1 / wb):.1f}x ({measure} time)")


def bench_cached_rerun(model_id, n_samples):
    from iftkit.config.loader import validate
    from iftkit.data.rows import write_rows
    from iftkit.evaluation.runner import run_eval
    from iftkit.evaluation.scorers import list_scorers
    from iftkit.evaluation.suites import load_instruction_set

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = load_instruction_set()[:: max(1, 66 // n_samples)][:n_samples]
        write_rows(tmp / "bench.jsonl", rows)
        scorers = [s for s in list_scorers() if s != "reward"]
        recipe = validate(
            {
                "model": {"id": model_id},
                "tracking": {"mode": "disabled"},
                "eval": {
                    "suites": ["bench"],
                    "extra_suites": {"bench": str(tmp / "bench.jsonl")},
                    "scorers": scorers,
                    "max_new_tokens": 32,
                    "cache_dir": str(tmp / "cache"),
                    "judge": {"backend": "local", "max_tokens": 16},
                },
            }
        )
        for label in ("first run", "cached rerun"):
            start = time.perf_counter()
            report = run_eval(recipe, [], tmp / "out", progress=False)
            c = report.counters
            print(
                f"{label}: {time.perf_counter() - start:.1f} s; models loaded {c.models_loaded}; "
                f"generation calls {c.generations.new}; judge calls {c.judge.new}; {c.summary_line()}"
            )


def main():
    from iftkit import DEFAULT_MODEL_ID
    from iftkit.models.resolve import resolve_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=DEFAULT_MODEL_ID)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--eval-samples", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch's default)")
    ap.add_argument("--measure", choices=["cpu", "wall"], default="cpu")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    path = resolve_model(args.model)
    bench_generation(path, args.prompts, args.batch_size, args.max_new_tokens, args.measure)
    bench_cached_rerun(args.model, args.eval_samples)


if __name__ == "__main__":
    main()
