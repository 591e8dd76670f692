"""Check iftkit's comparison statistics by simulating sweeps with a known truth.

    .venv/bin/python scripts/calibrate_stats.py                # the whole grid, 3000 sweeps per setting
    .venv/bin/python scripts/calibrate_stats.py --reps 200 --prompts 33 --seeds 1 2

The grid (iftkit/meta/calibration_sim.py: grid): true difference 0 / 0.05 between two adapters, with and without
a training-seed effect, 0/1, continuous (Beta) and 0-10 scores, 33 / 100 / 174 prompts, 1 / 2 / 3 / 5 seeds;
then clustered prompts, unequal seed variances between the adapters, near-ceiling means, S1's floor test
(adapter general vs 0.95 x the base model), sweeps of 4 adapters (equal and unequal seed variances), and
2-seed rows with the seed terms unpooled (before pooling) beside the pooled ones. The seed variance is
pooled over each sweep's adapters where Bartlett's check allows, as in the report; `pooled:` is how often.
For every setting it prints `false_lead_rate:` (equal
adapters: how often the report's rule would call the pick's lead "high"; the floor test: how often a
point at the floor is shown above it; goal <= 0.05) and `coverage:` (how often the 95 % interval holds
the true difference; goal >= 0.93), each with its Monte Carlo standard error, then Markdown tables (with,
for positive truths, how often the interval detects them: what the calibration costs in power), then
`worst false_lead_rate` and `worst coverage` over the grid.
Then the decide loop (iftkit/sweep/decide_sim.py; --decide-reps, 0 skips it): simulated 4-point sweeps with 1-2
planned seeds, 0/1 and Beta scores, equal adapters or one true leader, run through the report's recommend() at
the spent level and the planner that adds seeds to open points within sweep.decide's budget; per setting its
false_lead_rate over all looks (a "high" on a point that is not the true best; it joins the worst above), the
share of sweeps decided and the cells added. With one seed per point the report never
says "high" and its interval speaks of these two adapters on new prompts (retraining not measured), so
coverage is checked against that conditional truth. The statistics are the report's own
(iftkit/core/stats.py), told each score's declared scale and type as the report is.
"""

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from iftkit.meta.calibration_sim import evaluate, grid  # noqa: E402
from iftkit.sweep.decide_sim import decide_grid, evaluate_loop  # noqa: E402


def _se(rate: float, reps: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / reps)


def _tables(settings, got) -> list[str]:
    """Four Markdown tables: false_lead_rate (equal adapters), coverage, detection and the share of sweeps whose
    seed variance was pooled, one column per (prompts, seeds), one row per kind of setting (truth, seed effect,
    scores, clusters, ceiling, test, adapters, pooling)."""
    cols = sorted({(s.prompts, s.seeds) for s in settings})
    head = "| | " + " | ".join(f"n={n}, {k} seed{'s' if k > 1 else ''}" for n, k in cols) + " |"
    rule = "|---|" + "---|" * len(cols)
    kinds = list(dict.fromkeys(s.kind() for s in settings))
    truth_of = {s.kind(): s.truth for s in settings}
    out = []
    for metric, idx in (("false_lead_rate (equal adapters; floor test: a point at the floor shown above it)", 0),
                        ("coverage of the 95 % interval", 1),
                        ("detected: share of intervals above 0 when adapter 0 is better (power)", 2),
                        ("pooled: share of sweeps whose seed variance was pooled (Bartlett's check passed)", 3)):
        lines = []
        for kind in kinds:
            if (idx == 0 and truth_of[kind] != 0) or (idx == 2 and truth_of[kind] == 0):
                continue
            cells = [got.get((kind, n, k)) for n, k in cols]
            if idx == 3 and all(c is None or c[3] is None for c in cells):
                continue
            lines.append(f"| {kind} | " + " | ".join("–" if c is None or c[idx] is None else f"{c[idx]:.3f}"
                                                     for c in cells) + " |")
        out += [f"{metric}:", "", head, rule, *lines, ""]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3000, help="simulated sweeps per setting")
    ap.add_argument("--prompts", type=int, nargs="*", help="only these test sizes (default 33 100 174)")
    ap.add_argument("--seeds", type=int, nargs="*", help="only these seed counts (default 1 2 3 5)")
    ap.add_argument("--adapters", type=int, help="adapters per simulated sweep, every setting (Holm family = this - 1)")
    ap.add_argument("--decide-reps", type=int, default=300,
                    help="simulated sweeps per decide-loop setting (each runs the report several times; 0: skip)")
    args = ap.parse_args(argv)
    settings = [
        replace(s, adapters=args.adapters or s.adapters)
        for s in grid()
        if (not args.prompts or s.prompts in args.prompts) and (not args.seeds or s.seeds in args.seeds)
    ]
    start = time.process_time()
    got = {}
    worst_lead, worst_cov = 0.0, 1.0
    for i, st in enumerate(settings):
        r = evaluate(st, reps=args.reps, seed=i)
        lead, cov = r["false_lead_rate"], r["coverage"]
        got[(st.kind(), st.prompts, st.seeds)] = (lead, cov, r["detected"], r["pooled"])
        lead_txt = "–" if lead is None else f"{lead:.3f} ± {_se(lead, args.reps):.3f}"
        pooled = "" if r["pooled"] is None else f"  pooled: {r['pooled']:.3f}"
        print(f"{st.label()}  false_lead_rate: {lead_txt}  coverage: {cov:.3f} ± {_se(cov, args.reps):.3f}{pooled}",
              flush=True)
        worst_cov = min(worst_cov, cov)
        if lead is not None:
            worst_lead = max(worst_lead, lead)
    print()
    print("\n".join(_tables(settings, got)))
    print()
    worst_lead = max(worst_lead, _decide_loop(args.decide_reps))
    print(f"worst false_lead_rate: {worst_lead:.3f} (goal <= 0.05); worst coverage: {worst_cov:.3f} (goal >= 0.93)")
    print(f"{len(settings)} settings x {args.reps} simulated sweeps in {time.process_time() - start:.0f} s CPU")
    return 0


def _decide_loop(reps: int) -> float:
    """The decide-loop settings, one line each; their worst false_lead_rate (0 when skipped)."""
    worst = 0.0
    for i, st in enumerate(decide_grid() if reps > 0 else []):
        r = evaluate_loop(st, reps=reps, seed=10_000 + i)
        worst = max(worst, r["false_lead_rate"])
        print(f"{st.label()}  false_lead_rate: {r['false_lead_rate']:.3f} ± {_se(r['false_lead_rate'], reps):.3f}  "
              f"decided: {r['decided']:.3f}  cells added: {r['mean_added']:.2f} on average, at most {r['max_added']} "
              f"(budget {st.max_cells})", flush=True)
    if reps > 0:
        print()
    return worst


if __name__ == "__main__":
    sys.exit(main())
