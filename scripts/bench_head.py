"""The LM head of a frozen model on a prefill's last positions: one matrix product, or one per row.

A prefill asks for the last position's logits only, so the head gets a strided slice of the hidden
states. torch's matmul folds that slice into one product only while the head's weight requires grad;
frozen (every PEFT model) it runs a batched product that reads the whole head once per row.
iftkit hands the head a contiguous copy (models/load.py: ready_to_answer). This prints, from one run:

    head_strided_vs_contiguous:   the head on the slice as transformers passes it / on a contiguous copy
    answers_before_vs_after:      with --adapter: greedy answers of that adapter without / with the fix
                                  (wall time of the same prompts, the same process, answers compared)

    .venv/bin/python scripts/bench_head.py                                        # SmolLM2's head
    .venv/bin/python scripts/bench_head.py --model google/gemma-3-270m --rows 16 \\
        --adapter runs/gemma3-270m-lora/adapter
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_measure import cpu_name, matmul_peak  # noqa: E402  (scripts/ is on the path)


def _best(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def head_ratio(model, rows: int, prompt_tokens: int, reps: int) -> tuple[float, float]:
    import torch

    head = model.get_output_embeddings()
    head.weight.requires_grad_(False)
    hidden = torch.randn(rows, prompt_tokens, head.weight.shape[1], dtype=head.weight.dtype)
    last = hidden[:, -1:, :]  # what logits_to_keep=1 hands the head
    with torch.no_grad():
        strided = _best(lambda: torch.nn.functional.linear(last, head.weight), reps)
        contiguous = _best(lambda: torch.nn.functional.linear(last.contiguous(), head.weight), reps)
    return strided, contiguous


def answers(model_cfg, path: str, adapter: str, prompts: list, fixed: bool) -> tuple[float, list]:
    from iftkit.models import load
    from iftkit.models.chat.local import TransformersChat
    from iftkit.models.chat.types import GenConfig

    keep = load._contiguous_input
    if not fixed:
        load._contiguous_input = lambda module, args: None  # the hook as it was: the head gets the slice
    try:
        chat = TransformersChat(model_cfg=model_cfg, path=path, adapter_path=adapter, batch_size=len(prompts))
        chat.load()
        t = time.perf_counter()
        out = chat.complete_many(prompts, GenConfig(max_new_tokens=8))
        return time.perf_counter() - t, [c.text for c in out]
    finally:
        load._contiguous_input = keep


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct", help="model id (iftkit model fetch)")
    ap.add_argument("--adapter", help="an adapter of that model: also time its greedy answers before/after")
    ap.add_argument("--rows", type=int, default=16, help="prompts per batch")
    ap.add_argument("--prompt-tokens", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)

    import torch

    from iftkit.config.schema import ModelConfig
    from iftkit.models.load import load_model
    from iftkit.models.resolve import resolve_model

    torch.set_num_threads(1)
    cfg = ModelConfig(id=args.model, dtype="float32")
    path = resolve_model(cfg.id, cfg.revision)
    model = load_model(cfg, path=path)
    vocab, width = model.get_output_embeddings().weight.shape
    print(f"model: {args.model}  head {vocab} x {width} float32  rows {args.rows}  prompt tokens {args.prompt_tokens}")
    print(f"cpu: {cpu_name()}  threads: 1  matmul peak float32: {matmul_peak('float32') / 1e9:.0f} GFLOP/s")
    strided, contiguous = head_ratio(model, args.rows, args.prompt_tokens, args.reps)
    print(f"head on the slice: {strided * 1e3:.1f} ms  on a contiguous copy: {contiguous * 1e3:.1f} ms")
    print(f"head_strided_vs_contiguous: {strided / contiguous:.2f}x")
    if args.adapter:
        del model
        prompts = [[{"role": "user", "content": f"Review {i}: the parcel came late and the box was torn. "
                     "Is this review positive or negative? Answer with one word."}] for i in range(args.rows)]
        answers(cfg, path, args.adapter, prompts, fixed=True)  # warm the caches of the OS and allocator
        before, old = answers(cfg, path, args.adapter, prompts, fixed=False)
        after, new = answers(cfg, path, args.adapter, prompts, fixed=True)
        same = sum(a == b for a, b in zip(old, new))
        print(f"adapter answers: {before:.2f} s before, {after:.2f} s after; {same}/{len(old)} answers equal")
        print(f"answers_before_vs_after: {before / after:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
