"""What changed since a sweep's points ran, and the rule that a collect never loses a finished result.

A point counts as finished only for the hashes of the recipe as it is now (sweep/collect.py:
finished_points); `iftkit sweep status` and `collect` both ask that. A point whose record says done for
other hashes was run with other recipe values: this module names them, key by key, from the values each
record keeps (and, for records of older versions, from the adapter card's recipe).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from iftkit.config import identity as ids
from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.sweep.collect import base_eval_hashes, finished_points
from iftkit.sweep.grid import Cell
from iftkit.sweep.layout import BASE, SweepPaths, cell_points, point_key
from iftkit.sweep.state import SweepState
from iftkit.training.card import read_card


@dataclass
class Change:
    label: str
    stage: str  # "training" (the adapter would be retrained) or "evaluation" (re-scored only)
    what: str  # the keys that differ, with both values

    def line(self) -> str:
        return f"{self.label}: {self.stage} ran with other values: {self.what}"


def changed_points(recipe: Recipe, paths: SweepPaths, cells: list[Cell]) -> list[Change]:
    """Every point (the base model, each cell's points) whose record says done for other recipe values."""
    state = SweepState(paths.root)
    out = []
    base = state.get(BASE)
    if base.get("status") == "done" and base.get("eval_hash") not in base_eval_hashes(recipe):
        now = ids.identity(recipe, ids.BASE_EVAL_SECTIONS)
        before = base.get("eval_identity") or _manifest_identity(base, ids.BASE_EVAL_SECTIONS)
        out.append(Change(BASE, "evaluation", _described(before, now)))
    for cell in cells:
        for scale, step in cell_points(cell):
            change = _point_change(state, cell, point_key(cell, scale, step))
            if change:
                out.append(change)
    return out


def _point_change(state: SweepState, cell: Cell, label: str) -> Optional[Change]:
    rec = state.get(label)
    if rec.get("status") != "done":
        return None
    if rec.get("train_hash") not in cell.train_hashes:
        trained = state.get(cell.label)
        before = trained.get("train_identity") or _card_identity(trained, ids.TRAIN_SECTIONS)
        return Change(label, "training", _described(before, cell.train_identity))
    if rec.get("eval_hash") not in cell.eval_hashes:
        before = rec.get("eval_identity") or _card_identity(state.get(cell.label), ids.EVAL_SECTIONS)
        return Change(label, "evaluation", _described(before, cell.eval_identity))
    return None


def _card_identity(record: dict, sections) -> Optional[dict]:
    """What an adapter was trained from, from its card (records of older versions keep no values)."""
    adapter = record.get("adapter")
    card = read_card(adapter) if adapter and Path(adapter).is_dir() else None
    return ids.identity_of_dump(card["recipe"], sections) if card and card.get("recipe") else None


def _manifest_identity(record: dict, sections) -> Optional[dict]:
    """What the base model was evaluated with, from the manifest of the mix its eval built (older records)."""
    manifest = Path(record.get("eval_dir") or "") / "mix" / "manifest.json"
    try:
        dump = json.loads(manifest.read_text()).get("recipe")
    except (OSError, ValueError):
        return None
    return ids.identity_of_dump(dump, sections) if dump else None


def _described(before: Optional[dict], now: dict) -> str:
    if before is None:
        return "its record keeps no values to compare (written by an older iftkit)"
    return ids.describe_differences(before, now)


def point_status(state: SweepState, label: str, held_as: str, finished: bool, change: Optional[Change]) -> str:
    """`iftkit sweep status`'s word on one point, matched as `collect` matches it."""
    if change is not None:
        return f"done with other values ({change.stage}: {change.what}); a run redoes it, collect leaves it out"
    described = state.describe(label, held_as)
    if described.startswith("done") and not finished:
        return "done, but its results file is missing; a run redoes it"
    return described


def guard_collect(results: Path, rows: list[dict], changes: list[Change], missing: list[str], force: bool,
                  say: Callable) -> None:
    """Refuse, before anything is written, a collect that would drop finished work: points run with other
    recipe values, or fewer rows than the table already holds. `force`: the user means it."""
    before = _row_count(results)
    for change in changes:
        say(change.line())
    if force:
        if changes or len(rows) < before:
            say(f"--force: writing {len(rows)} rows over the {before} in {results}")
        return
    if changes:
        raise IftkitError(
            f"{len(changes)} finished point(s) ran with other recipe values than the recipe now gives (listed "
            f"above); nothing was written. Run the sweep to redo them with these values, go back to the values "
            f"they ran with, or add --force to write the report without them"
        )
    if len(rows) < before:
        raise IftkitError(
            f"{results} holds {before} rows but only {len(rows)} are finished for this recipe (not finished: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}); nothing was written. Add --force to "
            f"replace the table anyway"
        )


def _row_count(results: Path) -> int:
    try:
        return sum(1 for line in results.read_text().splitlines() if line.strip())
    except FileNotFoundError:
        return 0


def matched(recipe: Recipe, paths: SweepPaths, cells: list[Cell]) -> set[str]:
    """The labels of the points collect would gather now."""
    return {label for label, *_ in finished_points(recipe, paths, cells)[0]}
