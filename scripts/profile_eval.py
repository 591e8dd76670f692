"""Profile one recipe's evaluation: where scoring time goes (iftkit/evaluation/profile.py does the work).

Runs the recipe's eval once (base model, or the adapters given) on fresh caches in a temporary
dir, every suite cut to --prompts rows, and prints one line per phase: data (building the
suites), load, prefill, decode and LM head of the models under test, each scorer, the judge's own
load / prefill / decode / LM head, and "other" (tokenising, caches, writing results), with
seconds, share of the total, calls, and tokens/s of forward passes; then the machine's matmul
peak measured with the same clock. Times are process CPU time by default (on a machine shared
with other jobs wall time mostly measures the neighbours); --measure wall for a judge served over
HTTP, whose waiting costs no CPU here (and the default on a GPU, where the hooks wait for the
kernels at every phase edge).

    .venv/bin/python scripts/profile_eval.py                         # the quickstart's base model, 8 prompts per suite
    .venv/bin/python scripts/profile_eval.py --config recipes/sweeps/quickstart.yaml \\
        --adapter runs/quickstart-sweep/cells/ratio-0.5-seed-0/adapter --prompts 16 --eval.batch_size 8
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_measure import cpu_name, has_fast_bf16, matmul_peak  # noqa: E402  (scripts/ is on the path)

from iftkit.core.errors import IftkitError  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="other --section.key value pairs override the recipe, as in `iftkit eval`")
    ap.add_argument("--config", default=str(ROOT / "recipes/sweeps/quickstart.yaml"))
    ap.add_argument("--adapter", action="append", default=[], metavar="PATH", help="an adapter dir (repeatable)")
    ap.add_argument("--with-base", action="store_true", help="with --adapter: profile the base model too")
    ap.add_argument("--prompts", type=int, default=8, help="rows per suite (0 = the recipe's whole suites)")
    ap.add_argument("--measure", choices=["cpu", "wall"], help="clock (default: wall on a GPU, else cpu)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch's default); 1 by default, as "
                    "scripts/bench_eval.py: on a shared machine more threads burn CPU time waiting for each other")
    args, overrides = ap.parse_known_args(argv)
    try:
        run(args, overrides)
    except IftkitError as exc:
        print(f"profile_eval: error: {exc}", file=sys.stderr)
        return 2
    return 0


def run(args, overrides) -> None:
    import torch

    from iftkit.config import load_recipe
    from iftkit.evaluation.evaluate import generation_dtype
    from iftkit.evaluation.profile import profile_eval

    if args.threads:
        torch.set_num_threads(args.threads)
    args.measure = args.measure or ("wall" if torch.cuda.is_available() else "cpu")
    clock = time.process_time if args.measure == "cpu" else time.perf_counter
    recipe = load_recipe(args.config, overrides)
    include_base = args.with_base or not args.adapter
    with tempfile.TemporaryDirectory(prefix="iftkit-profile-") as tmp:
        prof, report = profile_eval(recipe, args.adapter, Path(tmp) / "work", args.prompts or None, include_base,
                                    clock)
    c = report.counters
    models = (["base"] if include_base else []) + [Path(a).name for a in args.adapter]
    print(f"profile of {args.config}: {', '.join(models)}; {args.prompts or 'all'} prompts per suite; "
          f"{c.generations.new} answers, {c.judge.new} judge calls; scorers {', '.join(recipe.eval.scorers)}")
    j = recipe.eval.judge
    dtypes = {"generation": generation_dtype(recipe), "judge": j.dtype if j.backend == "local" else f"({j.backend})"}
    print("weights: " + ", ".join(f"{k} {recipe.model.dtype if d == 'model' else d}" for k, d in dtypes.items()))
    print(f"cpu: {cpu_name()}  threads: {torch.get_num_threads()}  measure: {args.measure} time  "
          f"load average: {os.getloadavg()[0]:.2f}")
    for line in prof.lines():
        print(line)
    dtypes = ["float32"] + (["bfloat16"] if has_fast_bf16() else [])
    print("matmul peak: " + ", ".join(f"{d} {matmul_peak(d, clock=clock) / 1e9:.0f} GFLOP/s" for d in dtypes)
          + f" ({args.measure} time)")


if __name__ == "__main__":
    sys.exit(main())
