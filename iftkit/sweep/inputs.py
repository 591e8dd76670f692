"""What a report states beside its rows, read from the recipe and the mix (the sweep's report, one cell's, and the
power plan before training alike)."""

import json
from pathlib import Path

from iftkit.config.schema import Recipe
from iftkit.data.tasks import TaskSpec


def report_meta(recipe: Recipe, mix: Path) -> dict:
    """What a report of this recipe states beside its rows, for a sweep or one cell alike; `mix`: the mix
    the base model was evaluated on."""
    return {
        "target_task": recipe.data.target_task,
        "base_model": recipe.model.id,
        "target_spec": _target_spec(mix),
        # the base model judging its own outputs is never the general axis (summary.fallback_scorers)
        "self_judge": recipe.eval.judge.backend == "local" and recipe.eval.judge.model == "base",
        "power_target": recipe.sweep.power_target,  # the power plan's target (report/power.py)
    }


def _target_spec(mix: Path):
    """The user task's spec from a mix's manifest (None for catalog targets)."""
    try:
        d = json.loads((mix / "manifest.json").read_text()).get("target_spec")
    except (OSError, ValueError):
        return None
    return dict(d, description=TaskSpec.from_dict(d).describe()) if d else None
