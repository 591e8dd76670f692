"""Benchmark eval generation and caching in one run.

1. The same prompts generated one at a time and in length-sorted left-padded batches
   (same code path, batch size 1 vs N): prints both throughputs and `speedup: X` (goal >= 5x).
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


def bench_generation(model_path, n_prompts, batch_size, max_new_tokens):
    from iftkit.config.schema import ModelConfig
    from iftkit.evaluation.generation import count_tokens, generate_batched
    from iftkit.evaluation.suites import load_instruction_set
    from iftkit.models.load import load_model, load_tokenizer

    rows = load_instruction_set()
    prompts = [rows[i % len(rows)].prompt for i in range(n_prompts)]
    tok = load_tokenizer(model_path)
    model = load_model(ModelConfig(id=model_path), path=model_path).eval()
    generate_batched(model, tok, prompts[:2], 4, 2, progress=False)  # warm-up
    results = {}
    for label, bs in (("one-at-a-time", 1), (f"batched (batch {batch_size})", batch_size)):
        start = time.perf_counter()
        texts = generate_batched(model, tok, prompts, max_new_tokens, bs, progress=False)
        elapsed = time.perf_counter() - start
        tokens = count_tokens(tok, texts)
        results[label] = (elapsed, tokens, texts)
        print(f"{label:>22}: {len(prompts)} prompts, {tokens} new tokens in {elapsed:.1f} s ({tokens / elapsed:.1f} tok/s)")
    (t1, _, single), (tb, _, batched) = results.values()
    same = sum(a == b for a, b in zip(single, batched))
    print(f"identical outputs: {same}/{len(prompts)}")
    print(f"speedup: {t1 / tb:.1f}x")


def bench_cached_rerun(model_id, n_samples):
    from iftkit.config.loader import validate
    from iftkit.data.rows import write_rows
    from iftkit.evaluation.runner import run_eval
    from iftkit.evaluation.scorers import list_scorers
    from iftkit.evaluation.suites import load_instruction_set

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = load_instruction_set()[::max(1, 66 // n_samples)][:n_samples]
        write_rows(tmp / "bench.jsonl", rows)
        scorers = [s for s in list_scorers() if s != "reward"]
        recipe = validate({"model": {"id": model_id}, "tracking": {"mode": "disabled"}, "eval": {
            "suites": ["bench"], "extra_suites": {"bench": str(tmp / "bench.jsonl")}, "scorers": scorers,
            "max_new_tokens": 32, "cache_dir": str(tmp / "cache"), "judge": {"backend": "local", "max_tokens": 16}}})
        for label in ("first run", "cached rerun"):
            start = time.perf_counter()
            report = run_eval(recipe, [], tmp / "out", progress=False)
            c = report.counters
            print(f"{label}: {time.perf_counter() - start:.1f} s; models loaded {c.models_loaded}; "
                  f"generation calls {c.generations_new}; judge calls {c.judge_new}; {c.summary_line()}")


def main():
    from iftkit import DEFAULT_MODEL_ID
    from iftkit.models.resolve import resolve_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=DEFAULT_MODEL_ID)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--eval-samples", type=int, default=8)
    args = ap.parse_args()
    path = resolve_model(args.model)
    bench_generation(path, args.prompts, args.batch_size, args.max_new_tokens)
    bench_cached_rerun(args.model, args.eval_samples)


if __name__ == "__main__":
    main()
