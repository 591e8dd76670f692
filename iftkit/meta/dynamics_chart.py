"""The learning-dynamics chart: format compliance and task performance against n, one PNG."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from iftkit.core.atomic import atomic_write  # noqa: E402
from iftkit.meta.dynamics import curves  # noqa: E402

COLORS = {"format": "#1f77b4", "task": "#d62728"}
LABELS = {"format": "format compliance (strict parse)", "task": "task performance (tolerant score)"}
STYLES = {"real": "-", "synthetic": "--"}


def plot_dynamics(points, bounds: dict, out_path, title: str = "Learning dynamics", intervals=None) -> Path:
    """intervals: dynamics_ci.boundary_intervals output; each boundary's 95 % range is shaded."""
    out_path = Path(out_path)
    cs = curves(points)
    positive = [n for (ns, _, _) in cs.values() for n in ns if n > 0]
    fig, ax = plt.subplots(figsize=(9, 6.4), dpi=120)
    for (src, metric), (ns, ys, sd) in sorted(cs.items()):
        label = LABELS[metric] + ("" if len({s for s, _ in cs}) == 1 else f" — {src} target data")
        ax.errorbar(ns, ys, yerr=sd, color=COLORS[metric], linestyle=STYLES.get(src, ":"), marker="o",
                    capsize=3, linewidth=2, label=label)
    multi = len(bounds) > 1
    for src, b in bounds.items():
        for key, metric, what in (("format_saturates_at", "format", "format saturates"),
                                  ("task_plateaus_at", "task", "task plateaus")):
            n = b[key]
            span = ((intervals or {}).get(src) or {}).get(key.replace("_at", "_in"))
            if span is not None:
                ax.axvspan(span[0], span[1], color=COLORS[metric], alpha=0.08)
            if n is not None:
                ax.axvline(n, color=COLORS[metric], linestyle=STYLES.get(src, ":"), alpha=0.45, linewidth=1.2,
                           label=f"{what} at n={n}" + (f" ({src})" if multi else "") + " — 90% of its rise"
                           + (f", 95% range {span[0]}–{span[1]}" if span is not None else ""))
    # n=0 (the base model) must stay on a log axis: linear just below the smallest count
    ax.set_xscale("symlog", linthresh=min(positive) if positive else 1)
    ticks = sorted({int(n) for (ns, _, _) in cs.values() for n in ns})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlim(-0.1 * (min(positive) if positive else 1), max(ticks) * 1.3 if ticks else 10)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("target-task training samples n (log scale; n=0: no target rows, "
                  "the base model unless an n=0 adapter was trained)")
    ax.set_ylabel("score (0–1), mean over seeds ± std")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8.5, frameon=False)
    fig.tight_layout()
    with atomic_write(out_path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return out_path
