"""Check iftkit's comparison statistics by simulating sweeps with a known truth.

    .venv/bin/python scripts/calibrate_stats.py               # full grid, 4000 sweeps per setting
    .venv/bin/python scripts/calibrate_stats.py --reps 200 --prompts 33 --seeds 2

For every setting (true difference 0 / 0.05 / 0.10 between two adapters, with and without a
training-seed effect, binary and 0-10 scores, 33 / 100 / 174 prompts, 2 / 3 / 5 seeds) it prints
`false_lead_rate:` (equal adapters: how often the report's rule would call the pick's lead "high";
goal <= 0.05) and `coverage:` (how often the 95 % interval holds the true difference; goal >= 0.93),
each with its Monte Carlo standard error, then Markdown tables (with, for true differences, how
often the interval detects them: what the calibration costs in power). The model of a sweep and the
rules are in iftkit/meta/calibration.py; the statistics are the report's own (iftkit/core/stats.py).
"""

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from iftkit.meta.calibration import Setting, evaluate, grid  # noqa: E402


def _se(rate: float, reps: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / reps)


def _tables(settings, got) -> list[str]:
    """Two Markdown tables: false_lead_rate (equal adapters) and coverage, one column per
    (prompts, seeds), one row per (true difference, seed effect, scores)."""
    cols = sorted({(s.prompts, s.seeds) for s in settings})
    head = "| | " + " | ".join(f"n={n}, {k} seeds" for n, k in cols) + " |"
    rule = "|---|" + "---|" * len(cols)
    out = []
    for metric, idx in (("false_lead_rate (equal adapters)", 0), ("coverage of the 95 % interval", 1),
                        ("detected: share of intervals above 0 when adapter 0 is better (power)", 2)):
        rows = sorted({(s.truth, s.seed_effect, s.scores) for s in settings})
        lines = []
        for truth, seed_effect, scores in rows:
            cells = [got.get((truth, seed_effect, scores, n, k)) for n, k in cols]
            if (idx == 0) != (truth == 0) and idx != 1:
                continue
            what = f"truth {truth:.2f}, {'seed effect' if seed_effect else 'no seed effect'}, {scores}"
            lines.append(f"| {what} | " + " | ".join("–" if c is None or c[idx] is None else f"{c[idx]:.3f}"
                                                    for c in cells) + " |")
        out += [f"{metric}:", "", head, rule, *lines, ""]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=4000, help="simulated sweeps per setting")
    ap.add_argument("--prompts", type=int, nargs="*", help="only these test sizes (default 33 100 174)")
    ap.add_argument("--seeds", type=int, nargs="*", help="only these seed counts (default 2 3 5)")
    ap.add_argument("--adapters", type=int, default=2, help="adapters per simulated sweep (Holm family = this - 1)")
    args = ap.parse_args(argv)
    settings = [
        Setting(s.truth, s.seed_effect, s.scores, s.prompts, s.seeds, args.adapters)
        for s in grid()
        if (not args.prompts or s.prompts in args.prompts) and (not args.seeds or s.seeds in args.seeds)
    ]
    start = time.process_time()
    got = {}
    worst_lead, worst_cov = 0.0, 1.0
    for i, st in enumerate(settings):
        r = evaluate(st, reps=args.reps, seed=i)
        lead, cov = r["false_lead_rate"], r["coverage"]
        got[(st.truth, st.seed_effect, st.scores, st.prompts, st.seeds)] = (lead, cov, r["detected"])
        lead_txt = "–" if lead is None else f"{lead:.3f} ± {_se(lead, args.reps):.3f}"
        print(f"{st.label()}  false_lead_rate: {lead_txt}  coverage: {cov:.3f} ± {_se(cov, args.reps):.3f}",
              flush=True)
        worst_cov = min(worst_cov, cov)
        if lead is not None:
            worst_lead = max(worst_lead, lead)
    print()
    print("\n".join(_tables(settings, got)))
    print()
    print(f"worst false_lead_rate: {worst_lead:.3f} (goal <= 0.05); worst coverage: {worst_cov:.3f} (goal >= 0.93)")
    print(f"{len(settings)} settings x {args.reps} simulated sweeps in {time.process_time() - start:.0f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
