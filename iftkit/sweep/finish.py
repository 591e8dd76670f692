"""Gather a sweep's results into one table, the report and a W&B sweep-summary run."""

from pathlib import Path
from typing import Callable

from iftkit import tracking
from iftkit.config.schema import Recipe
from iftkit.core.paths import safe_name
from iftkit.meta.judge_trust import judge_trust
from iftkit.report.axes import ReportSpec
from iftkit.report.render import ReportFiles, write_report
from iftkit.sweep.added import decide_meta
from iftkit.sweep.changes import changed_points, guard_collect
from iftkit.sweep.collect import collect_clusters, collect_rows, collect_samples, write_rows
from iftkit.sweep.grid import Cell
from iftkit.sweep.inputs import report_meta
from iftkit.sweep.judge_off import judge_off, report_lines
from iftkit.sweep.layout import BASE, SweepPaths, point_key
from iftkit.sweep.state import SweepState


def finish_sweep(recipe: Recipe, paths: SweepPaths, cells: list[Cell], say: Callable = print,
                 force: bool = False) -> ReportFiles:
    """Write the results table and report from every point finished for the recipe as it is now; refuses
    (IftkitError, nothing written) to drop points run with other values or rows the table holds, unless
    `force`."""
    rows, missing = collect_rows(recipe, paths, cells)
    changes = changed_points(recipe, paths, cells)
    guard_collect(paths.root / "results.jsonl", rows, changes, missing, force, say)
    changed = {c.label for c in changes}
    pending = [m for m in missing if m not in changed]
    if pending:
        say(f"not finished yet (left out of the report): {', '.join(pending)}")
    results = write_rows(paths, rows)
    x_key = next(iter(recipe.sweep.grid), "mix.target_ratio")
    trust = judge_trust(recipe, {r["scorer"] for r in rows}, log=say)
    mix = Path(recipe.eval.mix_dir) if recipe.eval.mix_dir else paths.base_eval_dir(recipe) / "mix"
    meta = {**report_meta(recipe, mix), "checkpoint_cost": checkpoint_cost(paths, cells), "cells": len(cells),
            "missing": missing}
    not_run = report_lines(judge_off(recipe, say), {r["scorer"] for r in rows})
    if not_run:  # the judge-trust section says which judge the sweep left out, and why
        meta["judge_not_run"] = not_run
    decided = decide_meta(paths.root)
    if decided:  # `iftkit sweep decide` looked more than once: the report tests at its spent level
        meta["decide"] = decided
    files = write_report(rows, paths.report, ReportSpec.of(recipe, x_key), meta,
                         samples=collect_samples(recipe, paths, cells), judge_trust=trust,
                         clusters=collect_clusters(recipe, paths))
    wandb_dir = log_sweep_summary(recipe, paths, rows, files)
    say(f"results: {results} ({len(rows)} rows)")
    say(f"report: {files.html}")
    say(f"charts: {files.tradeoff_png}, {files.scores_png}" + (f", {files.steps_png}" if files.steps_png else ""))
    if trust is not None:
        say(trust.line())
    if meta["checkpoint_cost"]:
        say(meta["checkpoint_cost"])
    if wandb_dir:
        say(f"W&B: {wandb_dir} (offline runs: upload later with `wandb sync {wandb_dir}/wandb/offline-run-*`)")
    say(f"primary scorer: {files.summary['primary_reason']}")
    say(f"general axis: {files.summary['general_axis']['reason']}")
    for rec in files.summary["recommendations"]:
        if rec["x"] is None:
            say(f"no recommendation for {rec['scenario']}: {rec['reason']}")
        else:
            say(
                f"recommended for {rec['scenario']}: {_named(rec, x_key)} "
                f"({rec['confidence'].split(':')[0]} confidence)"
            )
    return files


def _named(rec: dict, x_key: str) -> str:
    """`mix.target_ratio = 1.0`, with the adapter scale when the pick is a scaled adapter, and the step
    when it is a checkpoint (sweep.checkpoints)."""
    scale, step, final = rec.get("adapter_scale"), rec.get("step"), rec.get("final_step")
    text = f"{x_key} = {rec['x']}" + (f", adapter_scale = {scale:g}" if scale not in (None, 1.0) else "")
    if step is not None and final:
        text += f", step {step} of {final}" + (" (the final adapter)" if step == final else "")
    return text


def checkpoint_cost(paths: SweepPaths, cells: list[Cell]):
    """The wall-time share of scoring the kept checkpoints, from the seconds each step recorded in its state
    record (None without sweep.checkpoints or before any was scored)."""
    if not any(c.recipe.training.keep_steps for c in cells):
        return None
    state = SweepState(paths.root)
    train = final = steps = 0.0
    n = 0
    for c in cells:
        rec = state.get(c.label)
        train += rec.get("train_seconds") or 0.0
        final += rec.get("seconds") or 0.0
        for k in c.recipe.training.keep_steps:
            got = state.get(point_key(c, step=k)).get("seconds")
            if got is not None:
                steps += got
                n += 1
    base = state.get(BASE).get("seconds") or 0.0
    total = train + final + steps + base
    if not n or not total:
        return None
    return (f"checkpoint scoring: {n} kept adapters scored in {steps:.0f} s, {steps / total:.0%} of the sweep's "
            f"{total:.0f} s of training and scoring (training {train:.0f} s, final adapters' scoring {final:.0f} s, "
            f"base model {base:.0f} s; as recorded when each step ran, cache hits included)")


def log_sweep_summary(recipe: Recipe, paths: SweepPaths, rows: list[dict], files: ReportFiles):
    """One `sweep-summary` run holding the results table, the charts and the recommendation."""
    run_dir = recipe.tracking.dir or str(paths.root / "wandb")
    run = tracking.init_run(
        recipe,
        name=f"{recipe.name}-summary",
        job_type="sweep-summary",
        dir=run_dir,
        config={"sweep": recipe.sweep.model_dump(mode="json")},
    )
    if run is None:
        return None
    import wandb

    columns = ["cell", "seed", "suite", "task", "scorer", "n", "mean", "ci_low", "ci_high"]
    table = wandb.Table(
        columns=columns + ["grid"], data=[[r.get(c) for c in columns] + [str(r.get("grid"))] for r in rows]
    )
    run.log(
        {
            "results": table,
            "tradeoff": wandb.Image(str(files.tradeoff_png)),
            "scores_vs_x": wandb.Image(str(files.scores_png)),
            **({"steps": wandb.Image(str(files.steps_png))} if files.steps_png else {}),
        }
    )
    for rec in files.summary["recommendations"]:
        run.summary[f"recommended/{rec['scenario']}"] = str(rec["x"])
        run.summary[f"recommended/{rec['scenario']}/adapter_scale"] = rec.get("adapter_scale")
        run.summary[f"recommended/{rec['scenario']}/step"] = rec.get("step")
    art = wandb.Artifact(f"{safe_name(recipe.name)}-report", type="sweep-report")  # W&B refuses spaces, accents
    for f in (files.html, files.markdown, files.tradeoff_png, files.scores_png, files.steps_png):
        if f is None:
            continue
        art.add_file(str(f))
    run.log_artifact(art)
    run.finish()
    return Path(run_dir)
