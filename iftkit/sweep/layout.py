"""Where a run's files lie: one sweep folder, or the folder of `iftkit pipeline`'s one cell.

    runs/<name>/                      a sweep (sweep_root)
      state/<point>.json              one record per point (sweep/state.py)
      base/eval-<hash>/               the base model's evaluation (with its mix)
      cells/<label>__<hash>/adapter/  a cell's adapter (+ steps/step-N/ with sweep.checkpoints)
      cells/<label>__<hash>/eval-<hash>[-scale=S][-step=N]/   each of its points' evaluation
      results.jsonl, report/          what collect writes

Hashes are recipe identities (config/identity.py). A folder an older version named by its own hash of
the same recipe is used where it lies, so an upgrade finds finished work in place.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from iftkit.config.schema import Recipe
from iftkit.core.paths import safe_name
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.sweep.grid import Cell, base_eval_hash, legacy_base_eval_hash

BASE = "base"


@dataclass
class SweepPaths:
    root: Path

    @property
    def cells(self) -> Path:
        return self.root / "cells"

    @property
    def report(self) -> Path:
        return self.root / "report"

    def cell_dir(self, cell: Cell) -> Path:
        return _current_or_legacy(self.cells / cell.dirname, self.cells / cell.legacy_dirname)

    def adapter_dir(self, cell: Cell) -> Path:
        return self.cell_dir(cell) / "adapter"

    def eval_dir(self, cell: Cell, scale: float = AS_TRAINED, step: Optional[int] = None) -> Path:
        scaled = "" if scale == AS_TRAINED else f"-scale={scale:g}"
        stepped = "" if step is None else f"-step={step}"
        folder = self.cell_dir(cell)
        return _current_or_legacy(folder / f"eval-{cell.eval_hash[:8]}{scaled}{stepped}",
                                  folder / f"eval-{cell.legacy_eval_hash[:8]}{scaled}{stepped}")

    def step_adapter_dir(self, cell: Cell, step: int) -> Path:
        from iftkit.training.callbacks import step_dir

        return step_dir(self.adapter_dir(cell), step)

    def base_eval_dir(self, recipe: Recipe) -> Path:
        return _current_or_legacy(self.root / "base" / f"eval-{base_eval_hash(recipe)[:8]}",
                                  self.root / "base" / f"eval-{legacy_base_eval_hash(recipe)[:8]}")


def _current_or_legacy(current: Path, legacy: Path) -> Path:
    """A folder named by this version's hash, or the one an older version (whole-dump hashes) wrote for
    the same recipe, where only that one exists: an upgrade reuses finished work in place."""
    return legacy if not current.exists() and legacy.exists() else current


def sweep_root(recipe: Recipe) -> Path:
    """runs/<the name's safe form>, or runs/<name> itself where an older version wrote the sweep there (the
    name is never a path: the schema refuses separators and '..')."""
    out = Path(recipe.sweep.out_dir)
    return _current_or_legacy(out / safe_name(recipe.name), out / recipe.name)


def point_key(cell: Cell, scale: float = AS_TRAINED, step: Optional[int] = None) -> str:
    """The state record and report label of a cell's adapter at one scale, or at one kept step."""
    label = cell.label if scale == AS_TRAINED else f"{cell.label}-adapter_scale={scale:g}"
    return label if step is None else f"{label}-step={step}"


def cell_scales(cell: Cell) -> list[float]:
    """Every scale a cell's adapter is evaluated at: as trained first, then sweep.adapter_scales."""
    return [AS_TRAINED, *cell.recipe.sweep.extra_scales]


def cell_points(cell: Cell) -> list[tuple[float, Optional[int]]]:
    """Every (scale, step) a cell is evaluated at: the adapter as trained first (step None = the final
    step), then each extra scale, then each kept step (sweep.checkpoints) as trained."""
    return [(s, None) for s in cell_scales(cell)] + [(AS_TRAINED, k) for k in cell.recipe.training.keep_steps]


@dataclass
class OneCellPaths:
    """`iftkit pipeline --out DIR`: the same stages as a sweep cell, one folder each."""

    root: Path

    @property
    def mix(self) -> Path:
        return self.root / "mix"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    @property
    def report(self) -> Path:
        return self.root / "report"
