"""One sweep cell, stage by stage: data -> mix -> train -> eval -> score -> report.

    .venv/bin/iftkit pipeline --config recipes/sweeps/quickstart.yaml --out runs/one-cell --training.seed 0

runs the recipe as given (its one ratio and seed) through the same library calls the sweep makes for
every cell of its grid. The sweep (sweep/runner.py) adds only what many cells need around them: state
records so an interrupted sweep resumes, locks so several processes share one sweep, the base model
evaluated once for all cells, and the accelerate launcher.
"""

from pathlib import Path
from typing import Callable

from iftkit.config.schema import Recipe
from iftkit.data.mix import build_mix, load_manifest, target_summary
from iftkit.evaluation.evaluate import run_eval
from iftkit.meta.judge_trust import judge_trust
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.models.chat.factory import check_backends
from iftkit.report.axes import ReportSpec
from iftkit.report.render import ReportFiles, write_report
from iftkit.sweep.collect import point_rows, point_samples
from iftkit.sweep.grid import Cell, plan_cell
from iftkit.sweep.inputs import report_meta
from iftkit.sweep.layout import BASE, OneCellPaths
from iftkit.sweep.preflight import check_target
from iftkit.training.train_adapter import train_adapter


def run_one_cell(recipe: Recipe, out: Path, say: Callable = print, progress: bool = True) -> ReportFiles:
    check_backends(recipe)  # a misnamed eval or judge backend fails now, not after training
    check_target(recipe, say=None)  # so does a target task nothing can score (the mix's summary says its spec)
    out.mkdir(parents=True, exist_ok=True)
    paths = OneCellPaths(out)
    cell, x_key = pipeline_cell(recipe)
    recipe = cell.recipe

    # 1. data and 2. mix: the target task's rows (synthetic or the user's file) mixed into general
    # instruction data at mix.target_ratio, split into train / validation / held-out test per task
    mix = build_mix(recipe, paths.mix)
    for line in target_summary(load_manifest(mix)):
        say(line)

    # 3. train: one LoRA (or QLoRA) adapter on the mix's train split, TRL's SFTTrainer under accelerate
    train_adapter(recipe, output_dir=str(paths.adapter), mix_dir=str(mix), say=say)

    # 4. eval: the base model and the adapter answer the mix's held-out prompts, in-domain and general;
    # 5. score: every scorer of eval.scorers scores every answer (cached: a rerun generates nothing)
    evaluated = paths.eval_dir
    result = run_eval(recipe, [str(paths.adapter)], evaluated, include_base=True, progress=progress, say=say)
    say(result.counters.summary_line())

    # 6. report: the adapter against the base model on both axes, with paired statistics per prompt
    rows = point_rows(evaluated, BASE, True, grid={}, seed=None, adapter_scale=None) + point_rows(
        evaluated, cell.label, False, grid=cell.values, seed=cell.seed, adapter_scale=AS_TRAINED
    )
    samples = {BASE: point_samples(evaluated, True), cell.label: point_samples(evaluated, False)}
    # the same report inputs as the sweep's: the user task's spec, the judge's self-judging flag and trust gate
    evaluated_mix = Path(recipe.eval.mix_dir) if recipe.eval.mix_dir else mix  # as run_eval resolves it
    trust = judge_trust(recipe, {r["scorer"] for r in rows}, log=say)
    return write_report(rows, paths.report, ReportSpec.of(recipe, x_key),
                        {**report_meta(recipe, evaluated_mix), "cells": 1}, samples=samples, judge_trust=trust)


def pipeline_cell(recipe: Recipe) -> tuple[Cell, str]:
    """The recipe's one cell, planned as the sweep plans its cells: training.seed seeds the mix too and
    labels the cell, so `--training.seed 1` is the sweep's seed-1 cell; and the key its x axis shows."""
    x_key = "mix.target_count" if recipe.mix.target_count is not None else "mix.target_ratio"
    section, _, name = x_key.partition(".")
    value = getattr(getattr(recipe, section), name)
    return plan_cell(recipe.model_dump(mode="json"), {x_key: value}, recipe.training.seed), x_key
