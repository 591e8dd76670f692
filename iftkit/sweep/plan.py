"""The power plan, printed once the base model is evaluated and before the first cell trains: per axis the
report will read (the primary scorer in-domain, the general axis by the report's own rule), the smallest
difference the planned prompts and seeds detect, and what would reach sweep.power_target."""

import math
from pathlib import Path

import numpy as np

from iftkit.config.schema import Recipe
from iftkit.report.axes import choose_axes
from iftkit.report.points import row_scale
from iftkit.report.power import planned
from iftkit.sweep.grid import Cell
from iftkit.sweep.inputs import report_meta

PLANNED = "(planned)"  # stands in for the adapters the axes will be read on, so the report's rules choose them now


def design_of(cells: list[Cell]) -> tuple[int, int]:
    """(grid points, seeds per point) of the sweep's cells."""
    points = {tuple(sorted((k, str(v)) for k, v in c.values.items())) for c in cells}
    return max(len(points), 1), max(len({c.seed for c in cells}), 1)


def plan_lines(recipe: Recipe, rows: list[dict], samples: dict, mix: Path, cells: list[Cell]) -> list[str]:
    """One line per axis. rows / samples: the base model's result rows and per-prompt scores
    ({(suite, sample_id): (prediction, scores)}). A judge is left off the axes here: its trust is measured
    when the report is written."""
    as_if = rows + [dict(r, cell=PLANNED) for r in rows]
    axes = choose_axes(as_if, recipe.sweep.primary_scorer, report_meta(recipe, mix), recipe.sweep.general_kind,
                       recipe.sweep.general_scorer, None)
    if axes.primary is None:
        return [f"power plan: none, {axes.primary_why}"]
    points, seeds = design_of(cells)
    keep = recipe.sweep.keep_general
    out = []
    for axis, suite, scorer in (("in_domain", "in_domain", axes.primary),
                                ("general", axes.gen_suite, axes.gen_scorer)):
        row = next((r for r in rows if r.get("suite") == suite and r.get("scorer") == scorer
                    and r.get("task") == "__all__"), {})
        w = 1.0 if axis == "in_domain" else (keep if row.get("higher_is_better") is not False else 1 / keep)
        scores = [_score(samples[k], scorer) for k in sorted(samples) if k[0] == suite]
        plan = planned(axis, f"{scorer} on {suite}", np.array(scores, dtype=float), row_scale(row), (seeds, points), w,
                       recipe.sweep.power_target)
        out.append(f"power plan, {plan.line()}")
    return out


def _score(entry, scorer) -> float:
    v = entry[1].get(scorer)
    return math.nan if v is None else float(v)
