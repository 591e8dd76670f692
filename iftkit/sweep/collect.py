"""Collect a sweep's results: which points are finished for the recipe as it is now, and their rows and
per-prompt samples, read from each point's own eval dir (sweep/runner.py writes them)."""

import json
from pathlib import Path
from typing import Optional

from iftkit.config.schema import Recipe
from iftkit.core.atomic import atomic_write
from iftkit.evaluation.generator import read_adapter_card
from iftkit.evaluation.records import read_samples
from iftkit.evaluation.results import read_results
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.sweep.grid import Cell, base_eval_hash, legacy_base_eval_hash
from iftkit.sweep.layout import BASE, SweepPaths, cell_points, point_key
from iftkit.sweep.state import SweepState


def base_is_done(state: SweepState, recipe: Recipe, out: Path) -> bool:
    entry = state.get(BASE)
    return (entry.get("status") == "done" and entry.get("eval_hash") in base_eval_hashes(recipe)
            and (out / "results.jsonl").is_file())


def base_eval_hashes(recipe: Recipe) -> tuple[str, str]:
    """The hashes the base model's evaluation for this recipe may be recorded under: this version's, version 0's."""
    return base_eval_hash(recipe), legacy_base_eval_hash(recipe)


def cell_is_done(
    state: SweepState, paths: SweepPaths, cell: Cell, scale: float = AS_TRAINED, step: Optional[int] = None
) -> bool:
    return (
        state.is_done(point_key(cell, scale, step), cell.train_hashes, cell.eval_hashes)
        and (paths.eval_dir(cell, scale, step) / "results.jsonl").is_file()
    )


def finished_points(recipe: Recipe, paths: SweepPaths, cells: list[Cell]) -> tuple[list[tuple], list[str]]:
    """(label, eval dir, cell or None for the base, adapter scale or None for the base, kept step or None)
    of every point whose state record says done for its current hashes, and the labels of those that are
    not done (yet)."""
    state = SweepState(paths.root)
    done, missing = [], []
    if base_is_done(state, recipe, paths.base_eval_dir(recipe)):
        done.append((BASE, paths.base_eval_dir(recipe), None, None, None))
    else:
        missing.append(BASE)
    for cell in cells:
        for scale, step in cell_points(cell):
            if cell_is_done(state, paths, cell, scale, step):
                done.append((point_key(cell, scale, step), paths.eval_dir(cell, scale, step), cell, scale, step))
            else:
                missing.append(point_key(cell, scale, step))
    return done, missing


def collect_rows(recipe: Recipe, paths: SweepPaths, cells: list[Cell]) -> tuple[list[dict], list[str]]:
    """Result rows of the base model and every finished cell, tagged with cell/grid/seed/adapter_scale, and
    with step / final_step where the sweep keeps checkpoints (the final adapter: step = final_step).

    Rows come from each finished point's own eval dir (on shared storage for SLURM / W&B
    sweeps), so they are exactly one per cell x suite x task x scorer whatever ran in parallel
    or was rerun before; a cell still running is left out, not half read.
    """
    done, missing = finished_points(recipe, paths, cells)
    rows = []
    for label, folder, cell, scale, step in done:
        grid, seed = (cell.values, cell.seed) if cell else ({}, None)
        # a cell `iftkit sweep decide` added beyond the grid: flat fields, so the parquet table keeps them
        added = ({"added_round": cell.added["round"], "added_why": cell.added["why"]}
                 if cell is not None and cell.added else {})
        steps = {}
        if cell is not None and cell.recipe.training.keep_steps:
            adapter = paths.adapter_dir(cell)
            card = read_adapter_card(adapter) if (adapter / "adapter_config.json").is_file() else {}
            final = card.get("global_step") or cell.recipe.training.max_steps  # early stopping can end sooner
            steps = dict(step=final if step is None else step, final_step=final)
        rows += point_rows(folder, label, cell is None, grid=grid, seed=seed, adapter_scale=scale, **steps, **added)
    return rows, missing


def point_rows(folder: Path, label: str, is_base: bool, **tags) -> list[dict]:
    """One point's result rows from an eval dir (the base model's or the adapter's, whichever `is_base`
    says), tagged with its label as `cell` and with `tags` (grid, seed, adapter_scale, step...)."""
    return [dict(r, cell=label, **tags) for r in read_results(folder) if (r.get("model") == "base") == is_base]


def point_samples(folder: Path, is_base: bool) -> dict:
    """One point's per-prompt predictions and scores from an eval dir: {(suite, sample_id): (prediction, scores)}."""
    f = folder / "samples.jsonl"
    if not f.is_file():
        return {}
    return {(rec.suite, rec.sample_id): (rec.prediction, rec.scores)
            for rec in read_samples(f) if (rec.model == "base") == is_base}


def collect_clusters(recipe: Recipe, paths: SweepPaths) -> dict:
    """{(suite, sample_id): cluster} of the base model's prompts (every point answered the same ones) that
    carry one (records.SampleRecord.cluster); {} where none does."""
    f = paths.base_eval_dir(recipe) / "samples.jsonl"
    if not f.is_file():
        return {}
    return {(rec.suite, rec.sample_id): rec.cluster for rec in read_samples(f)
            if rec.model == "base" and rec.cluster is not None}


def collect_samples(recipe: Recipe, paths: SweepPaths, cells: list[Cell]) -> dict:
    """Per-prompt predictions and scores of the base model and every finished cell, for paired statistics:
    {cell label: {(suite, sample_id): (prediction, scores)}}."""
    out: dict = {}
    for label, folder, cell, _, _ in finished_points(recipe, paths, cells)[0]:
        if (folder / "samples.jsonl").is_file():
            out[label] = point_samples(folder, cell is None)
    return out


def write_rows(paths: SweepPaths, rows: list[dict]) -> Path:
    import pandas as pd

    out = paths.root / "results.jsonl"
    with atomic_write(out) as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True, default=str) + "\n")
    flat = pd.DataFrame(
        [
            {**{k: v for k, v in r.items() if k != "grid"}, **{f"grid.{k}": v for k, v in r["grid"].items()}}
            for r in rows
        ]
    )
    if "scale" in flat:
        flat["scale"] = flat["scale"].astype(str)
    flat.to_parquet(paths.root / "results.parquet", index=False)
    return out
