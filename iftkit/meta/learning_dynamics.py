"""Learning dynamics end to end: from a sweep dir (or a table) to the boundaries, their intervals,
the chart and dynamics.json (`iftkit meta-eval --dynamics`)."""

import json
from dataclasses import dataclass
from pathlib import Path

from iftkit.core.atomic import write_text_atomic
from iftkit.core.errors import IftkitError
from iftkit.meta.dynamics import boundaries, describe, load_points
from iftkit.meta.dynamics_chart import plot_dynamics
from iftkit.meta.dynamics_ci import boundary_intervals, describe_intervals, load_prompt_scores, synthetic_effect


@dataclass
class Dynamics:
    chart: Path  # dynamics.png
    lines: list  # the findings in words
    data: Path  # dynamics.json: boundaries, intervals, synthetic-data effect, points


def analyse_dynamics(path, out: Path) -> Dynamics:
    if not Path(path).exists():
        raise IftkitError(f"--dynamics {path}: no such file or directory")
    points = load_points(path)
    bounds = boundaries(points)
    # a sweep dir also holds the per-prompt scores that give the findings their intervals
    per_prompt = load_prompt_scores(path) if Path(path).is_dir() else []
    intervals = boundary_intervals(per_prompt) if per_prompt else {}
    effects = synthetic_effect(per_prompt) if per_prompt else []
    png = plot_dynamics(points, bounds, out / "dynamics.png", title=f"Learning dynamics — {Path(path).name}",
                        intervals=intervals)
    data = out / "dynamics.json"
    write_text_atomic(
        data,
        json.dumps({"boundaries": bounds, "intervals": intervals, "synthetic_effect": effects,
                    "points": [p.__dict__ for p in points]}, indent=2),
    )
    return Dynamics(png, describe(bounds) + describe_intervals(intervals, effects), data)
