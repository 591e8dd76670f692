"""The second axis of a sweep: trained adapters run at a fraction of their strength.

sweep.adapter_scales evaluates each trained adapter with its LoRA deltas multiplied by s in
(0, 1]: weight-space interpolation between the base model (s = 0) and the adapter as trained
(s = 1), with no training (WiSE-FT). The report then holds two families of points: the ratio
family (each mix's adapter as trained) and, per trained adapter, its scale family (a path from
the base model to that adapter). Both are judged together: one joint Pareto frontier, and S1/S2
may recommend a (ratio, scale) pair. This module says which points belong where and what the
scaled points add, in words and paired statistics.
"""

from iftkit.config.keys import short_name
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.report.points import Point, diff, oriented


def is_scaled(p: Point) -> bool:
    return not p.is_base and p.adapter_scale not in (None, AS_TRAINED)


def point_label(p: Point, x_key: str) -> str:
    """A point's column / recommendation label: `ratio=1.0`, `ratio=1.0 at adapter_scale=0.5`, `base`."""
    if p.is_base:
        return "base"
    text = f"{short_name(x_key)}={p.x}"
    if is_scaled(p):
        text += f" at adapter_scale={p.adapter_scale:g}"
    if p.is_checkpoint:
        text += f" at step {p.step}/{p.final_step}"
    return text + (f" ({p.series})" if p.series else "")


def pareto_front(pts: list[Point]) -> list[Point]:
    """Points no other point beats on both in-domain and general (each in its scorer's direction)."""
    front = [p for p in pts if not any(_dominates(q, p) for q in pts)]
    return sorted(front, key=lambda p: p.general)


def _dominates(q: Point, p: Point) -> bool:
    qi, qg, pi, pg = oriented(q), oriented(q, "general"), oriented(p), oriented(p, "general")
    return qi >= pi and qg >= pg and (qi > pi or qg > pg)


def scale_families(pts: list[Point]) -> list[tuple[Point, list[Point]]]:
    """(adapter as trained, its scaled points by ascending scale) for each adapter evaluated at other scales."""
    trained = [p for p in pts if not p.is_base and not is_scaled(p)]
    out = []
    for t in trained:
        scaled = sorted(
            (p for p in pts if is_scaled(p) and (p.x, p.series) == (t.x, t.series)), key=lambda p: p.adapter_scale
        )
        if scaled:
            out.append((t, scaled))
    return out


def scale_lines(pts: list[Point], x_key: str) -> list[str]:
    """The report's paragraph on the scaled points: the joint frontier, and every scaled point that
    beats an adapter as trained on both axes (or is beaten by one), with paired differences."""
    if not any(is_scaled(p) for p in pts):
        return []
    front = pareto_front([p for p in pts if p.general == p.general and p.in_domain == p.in_domain])
    lines = [
        "## Adapter scales (no training)",
        "Scaled points run a trained adapter with its LoRA deltas multiplied by adapter_scale: weight-space "
        "interpolation between the base model (0) and the adapter as trained (1), WiSE-FT.",
        "",
        "Joint Pareto frontier, most general first: " + ", ".join(point_label(p, x_key) for p in reversed(front)) + ".",
    ]
    trained = [p for p in pts if not p.is_base and not is_scaled(p)]
    wins, losses = [], []
    for s in (p for p in pts if is_scaled(p)):
        wins += [f"- {point_label(s, x_key)} beats {point_label(t, x_key)}: {_gap(s, t)}"
                 for t in trained if _dominates(s, t)]
        losses += [f"- {point_label(t, x_key)} beats {point_label(s, x_key)}: {_gap(t, s)}"
                   for t in trained if _dominates(t, s)]
    if wins:
        lines += ["", "Scaled adapters that beat a trained mix on both axes (paired differences, 95 % CI):", *wins]
    else:
        lines += ["", "No scaled adapter beats a trained mix on both axes."]
    if losses:
        lines += ["", f"{len(losses)} times a trained mix beats a scaled adapter on both axes, e.g.:", *losses[:3]]
    return lines + [""]


def _gap(p: Point, q: Point) -> str:
    return f"in-domain {_signed(p, q, 'in_domain')}, general {_signed(p, q, 'general')}"


def _signed(p: Point, q: Point, axis: str) -> str:
    d = diff(p, q, axis)
    point = getattr(p, axis) - getattr(q, axis)
    if d is None or d.ci_low is None:
        return f"{point:+.3f}"
    return f"{d.value:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]"
