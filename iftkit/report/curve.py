"""The curve, fitted: each axis as a monotone function of the swept value, its band, where in-domain
gains flatten, and the one intermediate grid value worth adding.

Fit: weighted isotonic regression (pool-adjacent-violators, `pav`) of the points' means (the mean of
their seeds' means) over the grid value, one fit per series, final adapters as trained only. Each point
weighs by its precision (1 / the variance of its mean, from its 95 % CI, else its seed spread); where
one point has no measured precision all weigh the same, since mixing measured and guessed weights would
let a guess dominate. Direction: both fits (rising, falling) are made and the one with the smaller
weighted squared error wins; only an exact tie (a flat fit) falls back to the axis's usual shape
(in-domain rises with the target share, general falls), so the data, not a prior, sets the shape.
Band: 95 % percentile band of the fitted values over parametric bootstrap draws, each point's mean
redrawn from its own 95 % interval (which counts prompts and training seeds; see _draws for why not a
plain resampling of 2-3 seeds), and refitted. The direction stays that of the data in every draw: the
band is the uncertainty of the fitted shape, not of the choice between two shapes.

Where gains flatten (FLATTEN_SHARE): the smallest swept value at which the fitted in-domain curve,
interpolated linearly between grid points, reaches 90 % of its fitted gain from the lowest to the
highest grid value (counts: interpolated on log(1 + n), the chart's scale). propose_ratio turns that into
the one intermediate value the sweep's decide step may add: the midpoint of the two grid values the knee
falls between (AT_GRID: none when a grid value sits at it).
"""

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from iftkit.config.keys import short_name
from iftkit.core.errors import IftkitError
from iftkit.report.points import Point
from iftkit.report.scales import is_scaled

FLATTEN_SHARE = 0.9  # the knee: the fitted in-domain curve reaches this share of its gain over the grid
AT_GRID = 0.1  # a knee this close to a grid value (share of the gap between its neighbours) sits at it
RESAMPLES = 400
RATIO_KEY, COUNT_KEY = "mix.target_ratio", "mix.target_count"
LEVEL = 0.95
FIT_LABEL = "monotone fit over the grid (95 % band)"
Z95 = 1.959964  # a 95 % interval's half-width in standard errors


def pav(y, weights=None, increasing: bool = True) -> np.ndarray:
    """Weighted isotonic regression by pool-adjacent-violators: the monotone sequence closest to `y` in
    weighted squared error. Adjacent values that break the order are pooled into their weighted mean."""
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    if y.shape != w.shape or y.ndim != 1:
        raise IftkitError(f"isotonic fit: {y.shape} values against {w.shape} weights; expected one weight each")
    if not (np.isfinite(w).all() and (w > 0).all() and np.isfinite(y).all()):
        raise IftkitError("isotonic fit: expected finite values and positive finite weights")
    if not increasing:
        return -pav(-y, w, True)
    blocks: list = []  # [weighted mean, weight, count]
    for value, weight in zip(y, w):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.repeat([b[0] for b in blocks], [b[2] for b in blocks])


@dataclass
class AxisFit:
    """One axis of one series fitted over the swept value: grid values, point means, fitted values, their
    band (None: no uncertainty measured) and the fitted values of every bootstrap resample."""

    axis: str
    xs: np.ndarray
    means: np.ndarray
    fitted: np.ndarray
    increasing: bool
    weighted: bool
    low: Optional[np.ndarray] = None
    high: Optional[np.ndarray] = None
    draws: Optional[np.ndarray] = None  # resamples x grid values


def grid_points(pts: list[Point]) -> dict:
    """{series: its final adapters as trained, by grid value}: the points a curve is fitted over."""
    out: dict = {}
    for p in pts:
        if p.is_base or is_scaled(p) or p.is_checkpoint or not isinstance(p.x, (int, float)):
            continue
        out.setdefault(p.series, []).append(p)
    return {s: sorted(g, key=lambda p: p.x) for s, g in out.items()}


def _mean(p: Point, axis: str) -> float:
    return p.in_domain if axis == "in_domain" else p.general


def _se(p: Point, axis: str) -> Optional[float]:
    """The standard error of the point's mean: from its CI, else its seed spread; None: not measured."""
    est, sd = (p.in_ci, p.in_sd) if axis == "in_domain" else (p.gen_ci, p.gen_sd)
    if est is not None and est.ci_low is not None and est.ci_high > est.ci_low:
        return (est.ci_high - est.ci_low) / (2 * Z95)
    if p.seeds > 1 and sd and sd > 0:
        return sd / math.sqrt(p.seeds)
    return None


def _weights(group: list[Point], axis: str) -> Optional[np.ndarray]:
    se = [_se(p, axis) for p in group]
    if any(s is None for s in se):
        return None
    var = np.array(se) ** 2
    return 1 / np.maximum(var, 1e-6 * np.median(var))  # a zero-width CI must not take the whole fit


def _spread(p: Point, axis: str) -> Optional[tuple]:
    """(below, above): the standard error of the point's mean on each side of it, from its 95 % CI (split where
    the interval is asymmetric: Wilson's near 0 or 1, clipped to the scale), else its seed spread."""
    est = p.in_ci if axis == "in_domain" else p.gen_ci
    mean = _mean(p, axis)
    if est is not None and est.ci_low is not None and est.ci_high > est.ci_low:
        return max(mean - est.ci_low, 0.0) / Z95, max(est.ci_high - mean, 0.0) / Z95
    se = _se(p, axis)
    return (se, se) if se else None


def _draws(group: list[Point], axis: str, resamples: int, seed: int) -> Optional[np.ndarray]:
    """resamples x points: each point's mean redrawn from its own interval (a split normal); None when no
    point has one. The intervals already count the prompts, the training seeds (pooled over the sweep where
    they vary alike), prompt clusters and the scale's edges; a bootstrap that resamples a point's 2 or 3 seeds
    sees almost none of their spread (measured on a 2-seed sweep: a band of 0.17-0.37 around a point whose
    interval is [0.00, 0.97])."""
    spreads = [_spread(p, axis) for p in group]
    if not any(spreads):
        return None
    z = np.random.default_rng(seed).standard_normal((resamples, len(group)))
    below = np.array([s[0] if s else 0.0 for s in spreads])
    above = np.array([s[1] if s else 0.0 for s in spreads])
    means = np.array([_mean(p, axis) for p in group], dtype=float)
    scale = group[0].scale(axis)  # a score never leaves its declared range, nor does a draw of it
    lo = -np.inf if scale.low is None else scale.low
    hi = np.inf if scale.high is None else scale.high
    return np.clip(means + np.where(z < 0, z * below, z * above), lo, hi)


def fit_axis(group: list[Point], axis: str, resamples: int = RESAMPLES, seed: int = 0) -> Optional[AxisFit]:
    """The monotone fit of one axis over one series' grid points (see the module's docstring); None with
    fewer than two grid values or a point with no score on this axis."""
    means = np.array([_mean(p, axis) for p in group], dtype=float)
    if len(group) < 2 or not np.isfinite(means).all():
        return None
    w = _weights(group, axis)
    weights = np.ones_like(means) if w is None else w
    rise, fall = pav(means, weights, True), pav(means, weights, False)
    err_rise, err_fall = (float(np.sum(weights * (means - f) ** 2)) for f in (rise, fall))
    increasing = err_rise < err_fall if not math.isclose(err_rise, err_fall) else axis == "in_domain"
    fit = AxisFit(axis, np.array([p.x for p in group], dtype=float), means, rise if increasing else fall,
                  increasing, w is not None)
    draws = _draws(group, axis, resamples, seed)
    if draws is not None:
        good = draws[np.isfinite(draws).all(axis=1)]
        fit.draws = np.array([pav(d, weights, increasing) for d in good])
        if len(fit.draws) >= resamples // 2:
            alpha = (1 - LEVEL) / 2
            fit.low, fit.high = np.quantile(fit.draws, [alpha, 1 - alpha], axis=0)
    return fit


def knee_of(xs, fitted, higher_is_better: bool = True, share: float = FLATTEN_SHARE) -> Optional[float]:
    """The smallest x at which the fitted curve, linear between grid values, reaches `share` of its gain
    from the first to the last grid value (gain in the scorer's better direction); None: no gain."""
    xs, f = np.asarray(xs, dtype=float), np.asarray(fitted, dtype=float)
    sign = 1.0 if higher_is_better else -1.0
    gained = sign * (f - f[0])
    total = gained[-1]
    if len(f) < 2 or not total > 0:
        return None
    target = share * total
    k = int(np.argmax(gained >= target - 1e-12 * abs(total)))
    if k == 0:
        return float(xs[0])
    lo, hi = gained[k - 1], gained[k]
    t = 1.0 if hi == lo else (target - lo) / (hi - lo)
    return float(xs[k - 1] + min(max(t, 0.0), 1.0) * (xs[k] - xs[k - 1]))


@dataclass
class Knee:
    """Where the fitted in-domain gains flatten: the knee, its 95 % band (None: not measured), the two grid
    values it falls between (below None: at the first), and whether the gain itself clears the band."""

    x: float
    low: Optional[float]
    high: Optional[float]
    below: Optional[float]
    above: float
    gain_shown: Optional[bool]  # the bands at the lowest and highest grid value do not overlap (None: no band)
    fit: AxisFit


def _x_scale(x_key: str) -> tuple:
    """(forward, back): the scale the knee is interpolated and the midpoint taken on. Counts span orders of
    magnitude (0, 10, 100, 1000) and are charted on a symlog axis: log(1 + n); ratios: as they are."""
    return (np.log1p, np.expm1) if x_key == COUNT_KEY else (np.asarray, np.asarray)


def knee(group: list[Point], x_key: str = RATIO_KEY, resamples: int = RESAMPLES) -> Optional[Knee]:
    """The in-domain knee of one series' grid points; None without an in-domain gain over the grid."""
    fit = fit_axis(group, "in_domain", resamples)
    up = group[0].higher_is_better if group else True
    fwd, back = _x_scale(x_key)
    tx = fwd(fit.xs) if fit is not None else None
    t = knee_of(tx, fit.fitted, up) if fit is not None else None
    if t is None:
        return None
    k = int(np.searchsorted(tx, t, side="left"))
    below = float(fit.xs[k - 1]) if k > 0 else None
    low = high = shown = None
    if fit.draws is not None:
        knees = [v for d in fit.draws if (v := knee_of(tx, d, up)) is not None]
        if len(knees) >= len(fit.draws) // 2:
            low, high = (float(back(v)) for v in np.quantile(knees, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]))
    if fit.low is not None:
        shown = bool(fit.low[-1] > fit.high[0]) if up else bool(fit.high[-1] < fit.low[0])
    return Knee(float(back(t)), low, high, below, float(fit.xs[k]), shown, fit)


class Proposal(NamedTuple):
    """The intermediate grid value to add (None: none worth adding) and why, in words."""

    x: Optional[float]
    reason: str


def propose_ratio(pts: list[Point], x_key: str = RATIO_KEY) -> Proposal:
    """One intermediate grid value where the in-domain knee falls between two grid values: their midpoint
    (on log(1 + n), rounded, for counts); None where a grid value sits at the knee, there is no gain to locate, or the
    grid has several series (which series to refine is not this function's choice)."""
    groups = grid_points(pts)
    name = short_name(x_key)
    if len(groups) != 1:
        return Proposal(None, f"{len(groups)} series of grid points: no single curve to refine")
    group = next(iter(groups.values()))
    k = knee(group, x_key) if len(group) >= 2 else None
    if k is None:
        return Proposal(None, "the fitted in-domain score does not rise over the grid: no knee to locate")
    if k.gain_shown is False:
        return Proposal(None, f"the in-domain gain from {name}={k.fit.xs[0]:g} to {name}={k.fit.xs[-1]:g} lies "
                              "within the fit's 95 % band: no knee to locate yet")
    if k.below is None:
        return Proposal(None, f"the knee sits at the first grid value, {name}={k.above:g}")
    fwd, back = _x_scale(x_key)
    gap = fwd(k.above) - fwd(k.below)
    for at in (k.below, k.above):
        if abs(fwd(k.x) - fwd(at)) <= AT_GRID * gap:
            return Proposal(None, f"the grid value {name}={at:g} sits at the knee (~{k.x:.3g})")
    mid = float(back((fwd(k.below) + fwd(k.above)) / 2))
    if x_key == COUNT_KEY:
        mid = float(round(mid))
        if mid in (k.below, k.above):
            return Proposal(None, f"no count lies between {name}={k.below:g} and {name}={k.above:g}")
    return Proposal(mid, f"in-domain gains flatten between {name}={k.below:g} and {name}={k.above:g} (fitted "
                         f"knee ~{k.x:.3g}); {name}={mid:g} would say on which side")


def curve_lines(pts: list[Point], x_key: str) -> list[str]:
    """The report's section: per series, where in-domain gains flatten (with the band), the general fit's
    change over the grid, and the intermediate value proposed."""
    name, lines = short_name(x_key), []
    for series, group in grid_points(pts).items():
        where = f" ({series})" if series else ""
        k = knee(group, x_key) if len(group) >= 2 else None
        if k is None:
            lines.append(f"- In-domain{where}: the fitted score does not rise over the grid, so no knee.")
        else:
            band = (f" (band {_x(k.low, x_key)}–{_x(k.high, x_key)})" if k.low is not None
                    else " (no band: no uncertainty measured)")
            noise = "; the gain itself lies within the fit's band" if k.gain_shown is False else ""
            lines.append(f"- In-domain gains{where} flatten after {name} ~{_x(k.x, x_key)}{band}: the fit reaches "
                         f"{FLATTEN_SHARE * 100:.0f} % of its gain from {name}={k.fit.xs[0]:g} to "
                         f"{name}={k.fit.xs[-1]:g} there{noise}.")
        gen = fit_axis(group, "general")
        if gen is not None:
            band = (f" (95 % band {gen.low[0]:.3f}–{gen.high[0]:.3f} and {gen.low[-1]:.3f}–{gen.high[-1]:.3f})"
                    if gen.low is not None else "")
            lines.append(f"- General{where}: the fit goes from {gen.fitted[0]:.3f} at {name}={gen.xs[0]:g} to "
                         f"{gen.fitted[-1]:.3f} at {name}={gen.xs[-1]:g}{band}.")
    if not lines:
        return []
    proposal = propose_ratio(pts, x_key)
    lines.append(f"- Intermediate {name} proposed: {proposal.x:g} ({proposal.reason})." if proposal.x is not None
                 else f"- No intermediate {name} proposed: {proposal.reason}.")
    return ["## The curve, fitted", f"A monotone (isotonic) fit of each axis over {name}, each point weighted by "
            "its precision; 95 % bands from redrawing each point within its own 95 % interval (prompts and seeds "
            "counted) and refitting. Gains flatten where the fit reaches "
            f"{FLATTEN_SHARE * 100:.0f} % of its gain over the grid.", *lines, ""]


def _x(value: float, x_key: str) -> str:
    return f"{value:.0f}" if x_key == COUNT_KEY else f"{value:.3g}"


def draw_fit_vs_x(ax, group: list[Point], axis: str, color: str, label: Optional[str] = None) -> Optional[AxisFit]:
    """The fit of one axis as a line over its 95 % band, under the points (scores_vs_x.png)."""
    fit = fit_axis(group, axis)
    if fit is None:
        return None
    if fit.low is not None:
        ax.fill_between(fit.xs, fit.low, fit.high, color=color, alpha=0.13, lw=0, zorder=0)
    ax.plot(fit.xs, fit.fitted, "-", color=color, lw=2.2, alpha=0.35, zorder=1, label=label)
    return fit


def draw_fit_tradeoff(ax, pts: list[Point], color: str = "0.45", label: Optional[str] = FIT_LABEL) -> None:
    """Per series, the fitted (general, in-domain) path over the grid, over a band joining each grid value's
    box of the two 95 % bands (tradeoff.png)."""
    for k, group in enumerate(grid_points(pts).values()):
        gen, ind = fit_axis(group, "general"), fit_axis(group, "in_domain")
        if gen is None or ind is None:
            continue
        if gen.low is not None and ind.low is not None:
            boxes = [[(gl, il), (gh, il), (gh, ih), (gl, ih)]
                     for gl, gh, il, ih in zip(gen.low, gen.high, ind.low, ind.high)]
            _band_patch(ax, [a + b for a, b in zip(boxes, boxes[1:])], color)
        ax.plot(gen.fitted, ind.fitted, "-", color=color, lw=2.2, alpha=0.45, zorder=1, label=label if k == 0 else None)


def _band_patch(ax, corner_sets: list, color) -> None:
    """One patch, the union of the convex hulls of each consecutive pair of boxes (one path: overlaps are
    filled once, not darker)."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    verts, codes = [], []
    for corners in corner_sets:
        hull = _hull(corners)
        if len(hull) < 3:
            continue
        verts += hull + [hull[0]]
        codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(hull) - 1) + [MplPath.CLOSEPOLY]
    if verts:
        ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=color, alpha=0.12, lw=0, zorder=0))


def _hull(points: list) -> list:
    """Convex hull, counter-clockwise (Andrew's monotone chain): the same winding for every part of the band."""
    pts = sorted(set(map(tuple, points)))
    if len(pts) < 3:
        return pts

    def half(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return half(pts) + half(reversed(pts))
