"""The sweep's two PNG charts, drawn with matplotlib (Agg: no display needed).

tradeoff.png: in-domain vs general score, one point per grid value, 95 % bootstrap CIs as error
bars (the seed spread where there are no per-prompt scores), the base model as a star, the
Pareto frontier, and the S1 floor. Adapters also run at other scales (sweep.adapter_scales) add
one path per adapter, from the base model through its scaled points to it, and the frontier is
drawn over both families. Checkpoints (sweep.checkpoints) add one trajectory per run the same way
(report/steps.py), from the base model through its kept steps to the adapter as trained.
scores_vs_x.png: in-domain and general vs ratio / n, one panel per scorer, so scorers can
be compared on the same sweep (adapters as trained only).
Both draw the curve, fitted (report/curve.py): a monotone fit of each axis over the swept value as a
line over its 95 % band, under the points; scores_vs_x.png also marks where in-domain gains flatten.
Each axis follows its scorer's direction: a lower-is-better score is drawn on an inverted axis, so
up and right always mean better, and the label says so.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from iftkit.report.curve import FIT_LABEL, draw_fit_tradeoff, draw_fit_vs_x, grid_points, knee  # noqa: E402
from iftkit.report.points import Point, direction, error_bars, floor_label, general_floor  # noqa: E402
from iftkit.report.scales import (  # noqa: E402
    is_scaled,
    pareto_front,
    point_label,  # noqa: E402
    scale_families,
)
from iftkit.report.steps import draw_trajectories  # noqa: E402

IN_COLOR, GEN_COLOR = "#1f77b4", "#d62728"


def x_label(x_key: str) -> str:
    return {
        "mix.target_ratio": "specialization ratio (target share of training mix)",
        "mix.target_count": "target samples added (n)",
    }.get(x_key, x_key)


def _tradeoff_errorbar(ax, group: list[Point], **style) -> None:
    """Points at (general, in-domain) with their error bars on both axes."""
    ax.errorbar(
        [p.general for p in group],
        [p.in_domain for p in group],
        xerr=error_bars(group, "general"),
        yerr=error_bars(group, "in_domain"),
        **style,
    )


@dataclass(frozen=True)
class ChartText:
    """The tradeoff chart's words: its title, the scorer on both axes and the general axis's label."""

    title: str
    scorer: str
    general_label: Optional[str] = None


def tradeoff_chart(pts: list[Point], path: Path, x_key: str, keep_general: float, text: ChartText,
                   s1: Optional[Point] = None) -> Path:
    fig, ax = plt.subplots(figsize=(7.5, 6), dpi=130)
    families = any(is_scaled(p) for p in pts)
    stepped = any(p.is_checkpoint for p in pts)
    base = next((p for p in pts if p.is_base), None)
    _scale_paths(ax, pts, base)
    if stepped:
        draw_trajectories(ax, pts, base)
    _draw_adapters(ax, pts, x_key)
    front = pareto_front([p for p in pts if not math.isnan(p.general)])
    if len(front) > 1:
        ax.plot(
            [p.general for p in front],
            [p.in_domain for p in front],
            "--",
            color="0.35",
            lw=1.2,
            label="joint Pareto frontier" if families else "Pareto frontier",
        )
    if base is not None:
        _draw_base(ax, base, keep_general)
    if s1 is not None:
        ax.plot(s1.general, s1.in_domain, marker="o", ms=20, mfc="none", mec="#2ca02c", mew=2.2, ls="none",
                label="recommended for S1")
    _tradeoff_axes(ax, pts, text)
    _tradeoff_footnote(fig, families, stepped)
    fig.tight_layout(rect=(0, 0.08 if families or stepped else 0.06, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def _draw_adapters(ax, pts: list[Point], x_key: str) -> None:
    """The adapters as trained, one colour per series, each with its fitted curve and its label."""
    cells = [p for p in pts if not p.is_base and not is_scaled(p) and not p.is_checkpoint]
    series = sorted({p.series for p in cells})
    colors = plt.cm.viridis([i / max(1, len(series)) for i in range(len(series))]) if len(series) > 1 else ["#1f77b4"]
    for k, (s, color) in enumerate(zip(series, colors)):
        group = [p for p in cells if p.series == s]
        draw_fit_tradeoff(ax, group, color, FIT_LABEL if k == 0 else None)
        _tradeoff_errorbar(
            ax, group, fmt="o", ms=8, color=color, ecolor="0.55", capsize=4, label=s or "adapters (mean, 95 % CI)"
        )
        for p in group:
            ax.annotate(
                point_label(p, x_key), (p.general, p.in_domain), textcoords="offset points", xytext=(7, 6), fontsize=9
            )


def _draw_base(ax, base: Point, keep_general: float) -> None:
    """The base model as a star and S1's general floor through it."""
    if base.in_ci is not None:
        _tradeoff_errorbar(ax, [base], fmt="none", ecolor="#ff7f0e", alpha=0.6, capsize=3)
    ax.plot(
        base.general, base.in_domain, marker="*", ms=18, color="#ff7f0e", ls="none", label="base model (no adapter)"
    )
    ax.annotate("base", (base.general, base.in_domain), textcoords="offset points", xytext=(8, -14), fontsize=9)
    floor = general_floor(base, keep_general)
    ax.axvline(floor, color="#ff7f0e", ls=":", lw=1.2, label=floor_label(base, keep_general))


def _tradeoff_axes(ax, pts: list[Point], text: ChartText) -> None:
    """Labels, title, limits and legend; a lower-is-better axis is inverted so up and right stay better."""
    up_in, up_gen = (pts[0].higher_is_better, pts[0].gen_higher_is_better) if pts else (True, True)
    ax.set_xlabel(f"{text.general_label or f'general score ({text.scorer})'}, {direction(up_gen)} →")
    ax.set_ylabel(f"in-domain score ({text.scorer}, {direction(up_in)}) →")
    ax.set_title(text.title, fontsize=11)
    ax.grid(alpha=0.3)
    _pad_limits(ax, pts)
    if not up_gen:
        ax.invert_xaxis()
    if not up_in:
        ax.invert_yaxis()
    ax.legend(fontsize=8, loc="best", framealpha=0.9)


def _tradeoff_footnote(fig, families: bool, stepped: bool) -> None:
    fig.text(
        0.5,
        0.01,
        "Each point: one LoRA adapter trained on a mix with that share of target-task data"
        + (";\ndiamonds: an adapter run at a fraction (×s) of its strength, no training" if families else "")
        + (";\nsquares sN: the same adapter after N training steps, on its run's path from the base" if stepped
           else "")
        + ("" if families or stepped else ".")
        + "\nUp = better on the target task; right = better on everything else; top-right is best.",
        ha="center",
        va="bottom",
        fontsize=8,
        color="0.3",
    )


def _scale_paths(ax, pts: list[Point], base) -> None:
    """Each adapter's scale family: a dotted path base -> scaled points -> the adapter as trained,
    one colour per adapter so crossing paths stay apart."""
    families = scale_families(pts)
    colors = plt.cm.plasma([0.85 * i / max(1, len(families) - 1) for i in range(len(families))])
    for k, ((trained, scaled), color) in enumerate(zip(families, colors)):
        path = ([base] if base is not None else []) + scaled + [trained]
        ax.plot([p.general for p in path], [p.in_domain for p in path], ":", color=color, lw=1.1, alpha=0.8)
        _tradeoff_errorbar(
            ax,
            scaled,
            fmt="D",
            ms=6,
            mfc="white",
            mec=color,
            ecolor="0.75",
            capsize=2,
            label="adapter scaled at inference (base → adapter)" if k == 0 else None,
        )
        for p in scaled:
            at = (p.general, p.in_domain)
            ax.annotate(f"×{p.adapter_scale:g}", at, textcoords="offset points", xytext=(6, -10), fontsize=7)


def _pad_limits(ax, pts):
    """Axis limits that hold every point and its error bars, with room on the right for labels."""
    def extent(suite):
        ends = []
        for p, (lo, hi) in zip(pts, zip(*error_bars(pts, suite))):
            mean = p.in_domain if suite == "in_domain" else p.general
            if not math.isnan(mean):
                ends += [mean - lo, mean + hi]
        return ends

    xs, ys = extent("general"), extent("in_domain")
    if xs and ys:
        dx = max(0.02, (max(xs) - min(xs)) * 0.06)
        dy = max(0.02, (max(ys) - min(ys)) * 0.06)
        ax.set_xlim(min(xs) - dx, max(xs) + dx * 3)
        ax.set_ylim(min(ys) - dy, max(ys) + dy)


def _draw_knees(ax, cells, x_key: str) -> None:
    """Where in-domain gains flatten (report/curve.py), one dashed line per series."""
    for k, group in enumerate(grid_points(cells).values()):
        found = knee(group, x_key) if len(group) >= 2 else None
        if found is not None:
            ax.axvline(found.x, color=IN_COLOR, ls="--", lw=0.9, alpha=0.6,
                       label="in-domain knee (90 % of fitted gain)" if k == 0 else None)


def scores_vs_x_chart(per_scorer: dict, path: Path, x_key: str, title: str) -> Path:
    """per_scorer: {scorer: [Point]} -> one panel per scorer."""
    scorers = [s for s, pts in per_scorer.items() if any(not p.is_base for p in pts)]
    n = max(1, len(scorers))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), dpi=120, squeeze=False)
    is_count = x_key == "mix.target_count"
    for ax, scorer in zip(axes.flat, scorers):
        pts = per_scorer[scorer]
        cells = sorted(
            [p for p in pts if not p.is_base and not is_scaled(p) and not p.is_checkpoint
             and isinstance(p.x, (int, float))], key=lambda p: p.x
        )
        for series in sorted({p.series for p in cells}):
            group = [p for p in cells if p.series == series]
            xs = [p.x for p in group]
            suffix = f" ({series})" if series else ""
            for field, marker, color, name in (("in_domain", "o", IN_COLOR, "in-domain"),
                                               ("general", "s", GEN_COLOR, "general")):
                ax.errorbar(xs, [getattr(p, field) for p in group], yerr=error_bars(group, field), marker=marker,
                            color=color, capsize=3, ls="none", label=name + suffix)
                first = series == min(p.series for p in cells)
                draw_fit_vs_x(ax, group, field, color, label=f"{name} fit, 95 % band" if first else None)
        _draw_knees(ax, cells, x_key)
        base = next((p for p in pts if p.is_base), None)
        if base is not None:
            ax.axhline(base.in_domain, color=IN_COLOR, ls=":", lw=1, label="base in-domain")
            ax.axhline(base.general, color=GEN_COLOR, ls=":", lw=1, label="base general")
        if is_count:
            ax.set_xscale("symlog", linthresh=10)
        if pts and not pts[0].higher_is_better:
            ax.invert_yaxis()
        ax.set_title(scorer if not pts or pts[0].higher_is_better else f"{scorer} (lower is better, axis inverted)",
                     fontsize=10)
        ax.set_xlabel(x_label(x_key), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(scorers) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    wide = max(map(len, labels), default=0) > 32  # series names: one column per panel, or they run off
    ncol = max(1, min(cols if wide else 2 * cols, len(labels)))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    legend_height = 0.2 + 0.18 * math.ceil(len(labels) / ncol)  # inches under the panels, one row per 0.18
    fig.set_figheight(3.6 * rows + legend_height)
    fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 0.95))
    fig.savefig(path)
    plt.close(fig)
    return path
