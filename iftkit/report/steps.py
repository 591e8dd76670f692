"""The third axis of a sweep: training checkpoints scored as points of their own (sweep.checkpoints).

Each cell keeps its adapter at a few optimizer steps; each kept adapter is scored on the same
suites as the final one. The report then holds, per ratio, a trajectory from the base model (step
0) through its checkpoints to the adapter as trained. S1/S2 pick among the final adapters first; the
checkpoints are a second stage against that pick (summary.recommend), so a pick may be a (ratio, step) pair; this
module says what that pick saves against training to the end, draws the trajectories on the
tradeoff plane, and draws the steps panel (scores against the step).
"""

import math
from pathlib import Path
from typing import Optional

from iftkit.evaluation.scorers import EXACT_FORMAT, STRICT_ANSWER, playing
from iftkit.report.points import Point, diff, direction, error_bars, floor_label, general_floor, oriented
from iftkit.report.scales import point_label


def has_steps(pts: list[Point]) -> bool:
    return any(p.is_checkpoint for p in pts)


def trajectories(pts: list[Point]) -> list[tuple[Point, list[Point]]]:
    """(final adapter, its checkpoints by ascending step) for each adapter scored at kept steps."""
    finals = [p for p in pts if not p.is_base and not p.is_checkpoint and p.step is not None]
    out = []
    for f in finals:
        steps = sorted(
            (p for p in pts if p.is_checkpoint and _run(p) == _run(f)),
            key=lambda p: p.step,
        )
        if steps:
            out.append((f, steps))
    return out


def _run(p: Point) -> tuple:
    return p.x, p.series, p.adapter_scale


def plateau_step(base: Optional[Point], path: list[Point], share: float = 0.9) -> Optional[int]:
    """The first step whose in-domain score has made `share` of the run's final gain over the base model
    (None when there is no gain to make; a gain is a fall where lower is better)."""
    if base is None or not path:
        return None
    gain = oriented(path[-1]) - oriented(base)
    if not gain > 0:
        return None
    return next(p.step for p in path if oriented(p) - oriented(base) >= share * gain)


def saving_line(rec, pts: list[Point], x_key: str) -> Optional[str]:
    """How much training a scenario's pick needs, against the final checkpoint of its own run."""
    p = rec.point
    if p is None or p.step is None or not p.final_step:
        return None
    final = next(
        (q for q in pts if not q.is_checkpoint and (q.x, q.series, q.adapter_scale, q.step) ==
         (p.x, p.series, p.adapter_scale, p.final_step)),
        None,
    )
    if p.is_checkpoint:
        saved = 1 - p.step / p.final_step
        text = (f"{rec.scenario}'s pick, {point_label(p, x_key)}, needs {p.step} of {p.final_step} training steps: "
                f"it saves {saved:.0%} of the training")
        if final is not None:
            text += f"; against the final checkpoint ({point_label(final, x_key)}): {_gap(p, final)}"
        return text + "."
    # "would save" needs an equivalence test (TOST at the stated margin), not a difference the test set missed
    run = [q for q in rec.tied if q.is_checkpoint and (q.x, q.series) == (p.x, p.series)]
    same = sorted((q for q in run if q in rec.equivalent), key=lambda q: q.step)
    text = f"{rec.scenario}'s pick, {point_label(p, x_key)}, is the final checkpoint ({p.final_step} steps)"
    if same:
        e = same[0]
        return (text + f"; step {e.step} of the same run is shown as good (within the equivalence margin, TOST), "
                f"which would save {1 - e.step / p.final_step:.0%} of the training: {_gap(e, p)}.")
    if run:
        e = min(run, key=lambda q: q.step)
        return (text + f"; the test set cannot separate it from step {e.step} of the same run ({_gap(e, p)}), but "
                "cannot show them as good either (TOST at the equivalence margin): no saving is claimed.")
    return text + ": no earlier checkpoint of its run is as good on this evidence."


def step_lines(pts: list[Point], recs: list, x_key: str, per_scorer: Optional[dict] = None,
               cost: Optional[str] = None) -> list[str]:
    """The report's section on the checkpoints: one row per run, the scores at each step, where the
    in-domain gain levels off, and what the picks save."""
    if not has_steps(pts):
        return []
    base = next((p for p in pts if p.is_base), None)
    lines = [
        "## Training checkpoints (sweep.checkpoints)",
        "Each run's adapter was also kept and scored at earlier training steps; S1/S2 pick among the final "
        "adapters first, then compare each checkpoint with that pick (Holm over the checkpoints), with the same "
        "paired statistics. Step 0 is the base model.",
        "",
    ]
    lines += [f"- {line}" for r in recs if (line := saving_line(r, pts, x_key))]
    if cost:
        lines += [f"- {cost}"]
    lines.append("")
    runs = trajectories(pts)
    steps = sorted({q.step for f, path in runs for q in [*path, f]})
    head = "| run | axis | step 0 (base) | " + " | ".join(f"step {s}" for s in steps)
    head += " | 90 % of the in-domain gain by |"
    lines += [head, "|---|---|---|" + "---|" * len(steps) + "---|"]
    for final, path in runs:
        by_step = {q.step: q for q in [*path, final]}
        reach = plateau_step(base, [*path, final])
        for axis in ("in_domain", "general"):
            cells = [_fmt(getattr(by_step[s], axis)) if s in by_step else "–" for s in steps]
            first = _fmt(getattr(base, axis)) if base is not None else "–"
            tail = ("–" if reach is None else f"step {reach}") if axis == "in_domain" else ""
            lines.append(f"| {point_label(final, x_key)} | {axis.replace('_', '-')} | {first} | " + " | ".join(cells)
                         + f" | {tail} |")
    for scorer in (*playing(EXACT_FORMAT), *playing(STRICT_ANSWER)):
        got = (per_scorer or {}).get(scorer)
        if got and has_steps(got):
            lines += ["", f"In-domain `{scorer}` (answers in the exact expected format) by step:", ""]
            lines += _scorer_table(got, steps, x_key)
            break
    return lines + ["", "Chart: `steps.png` (scores against the training step, one line per run).", ""]


def _scorer_table(pts: list[Point], steps: list[int], x_key: str) -> list[str]:
    base = next((p for p in pts if p.is_base), None)
    out = ["| run | step 0 (base) | " + " | ".join(f"step {s}" for s in steps) + " |",
           "|---|---|" + "---|" * len(steps)]
    for final, path in trajectories(pts):
        by_step = {q.step: q for q in [*path, final]}
        out.append(f"| {point_label(final, x_key)} | {_fmt(base.in_domain) if base else '–'} | "
                   + " | ".join(_fmt(by_step[s].in_domain) if s in by_step else "–" for s in steps) + " |")
    return out


def _fmt(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _gap(p: Point, q: Point) -> str:
    return f"in-domain {_signed(p, q, 'in_domain')}, general {_signed(p, q, 'general')} (paired 95 % CI)"


def _signed(p: Point, q: Point, axis: str) -> str:
    d = diff(p, q, axis)
    if d is None or d.ci_low is None:
        return f"{getattr(p, axis) - getattr(q, axis):+.3f}"
    return f"{d.value:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]"


# --- charts --------------------------------------------------------------------------------


def draw_trajectories(ax, pts: list[Point], base: Optional[Point]) -> None:
    """Each run on the tradeoff plane: a thin path base -> its checkpoints -> the adapter as trained,
    one colour per run, the checkpoints as small squares labelled with their step."""
    import matplotlib.pyplot as plt

    runs = trajectories(pts)
    colors = plt.cm.plasma([0.85 * i / max(1, len(runs) - 1) for i in range(len(runs))])
    for k, ((final, path), color) in enumerate(zip(runs, colors)):
        line = ([base] if base is not None else []) + path + [final]
        ax.plot([p.general for p in line], [p.in_domain for p in line], "-", color=color, lw=1.0, alpha=0.7)
        ax.plot([p.general for p in path], [p.in_domain for p in path], "s", ms=5, mfc="white", mec=color,
                ls="none", label="checkpoint (start → end of a run)" if k == 0 else None)
        for p in path:
            ax.annotate(f"s{p.step}", (p.general, p.in_domain), textcoords="offset points", xytext=(5, -9),
                        fontsize=7, color=color)


def steps_chart(pts: list[Point], path: Path, x_key: str, title: str, general_label: str,
                keep_general: Optional[float] = None) -> Optional[Path]:
    """steps.png: in-domain and general score against the training step, one line per run (seeds pooled,
    95 % CI bars); step 0 is the base model; the S1 floor on the general panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = trajectories(pts)
    if not runs:
        return None
    base = next((p for p in pts if p.is_base), None)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), dpi=120)
    colors = [plt.cm.tab10(i % 10) for i in range(len(runs))]
    for (final, steps), color in zip(runs, colors):
        line = steps + [final]
        for ax, axis in zip(axes, ("in_domain", "general")):
            xs = [p.step for p in line]
            ys = [getattr(p, axis) for p in line]
            if base is not None:
                xs, ys = [0] + xs, [getattr(base, axis)] + ys
            ax.plot(xs, ys, "-", color=color, lw=1.4, label=point_label(final, x_key))
            ax.errorbar([p.step for p in line], [getattr(p, axis) for p in line], yerr=error_bars(line, axis), fmt="o",
                        ms=4, color=color, ecolor="0.6", capsize=2)
    first = runs[0][0]
    for ax, axis, up in zip(axes, ("in_domain", "general"), (first.higher_is_better, first.gen_higher_is_better)):
        if base is not None:
            ax.plot(0, getattr(base, axis), marker="*", ms=14, color="0.15", ls="none", label="base model (step 0)")
        ax.set_xlabel("training step (optimizer steps)")
        ax.set_ylabel(f"score, {direction(up)}")
        if not up:
            ax.invert_yaxis()  # up is better on every panel
        ax.grid(alpha=0.3)
    if base is not None and keep_general is not None and not math.isnan(base.general):
        axes[1].axhline(general_floor(base, keep_general), color="0.3", ls=":", lw=1.2,
                        label=floor_label(base, keep_general))
    axes[0].set_title("in-domain: the target task", fontsize=10)
    axes[1].set_title(general_label, fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    more = [(h, lab) for h, lab in zip(*axes[1].get_legend_handles_labels()) if lab.startswith("S1 floor")]
    handles, labels = handles + [h for h, _ in more], labels + [lab for _, lab in more]
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.08, 1, 0.94))
    fig.savefig(path)
    plt.close(fig)
    return path
