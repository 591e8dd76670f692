"""Run a sweep: the base model as reference, then each cell (train, evaluate), resumably.

Every cell trains through the same code as `train/sft.py` (`train_adapter`) — in this
process, or as `accelerate launch -m iftkit train` when the sweep's launcher says so — and is
evaluated by the same code as `eval/run.py`. Each cell's state record is written after every
step, so a kill at any moment costs at most the step in flight (and training resumes from its
own last checkpoint). Many processes may run cells of one sweep at once (SLURM array tasks, W&B
agents): the base model is evaluated by whichever gets its lock first while the others wait,
and each cell is run by one process at a time.

sweep.adapter_scales adds points without training: once a cell's adapter is trained and evaluated
as trained (scale 1), the same process evaluates it at each other scale, each point with its own
state record and eval dir; a sweep given more scales later evaluates only those.

sweep.checkpoints adds points the same way along the training run: the cell's training keeps its
adapter at those steps (training.keep_steps, in <adapter>/steps/step-N/), and after the adapter as
trained each kept step is evaluated as its own point (label `...-step=N`). Every step's time is
recorded in its state record (`seconds`), so the report can say what the extra points cost.

sweep.mixed_adapters (default on): the points of a cell waiting at scale 1 (its final adapter and kept
checkpoints) first generate their answers together, in shared batches over one loaded base model
(evaluation/together.py), into each adapter's own cache entries; each point's eval then reads them. A
point's `seconds` includes its share of that shared generation.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from iftkit.config import identity as ids
from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.data.mix import MANIFEST, target_summary
from iftkit.evaluation.evaluate import run_eval
from iftkit.evaluation.together import generate_together
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.sweep.added import sweep_cells
from iftkit.sweep.collect import base_is_done, cell_is_done, point_rows, point_samples
from iftkit.sweep.grid import Cell, base_eval_hash
from iftkit.sweep.judge_off import STATE_KEY, judges_run, leave_out, stale, without_judges
from iftkit.sweep.layout import BASE, SweepPaths, cell_points, point_key, sweep_root
from iftkit.sweep.plan import plan_lines
from iftkit.sweep.preflight import check_target
from iftkit.sweep.state import SweepState
from iftkit.training.train_adapter import train_adapter


@dataclass
class SweepRun:
    """What every cell of one sweep invocation is run with."""

    recipe_path: str
    paths: SweepPaths
    state: SweepState
    launcher: str
    accelerate_config: Optional[str]
    say: Callable
    progress: bool
    off: dict = field(default_factory=dict)  # judge scorer -> Trust: left out, the gate refuses it (judge_off.py)


def run_sweep(
    recipe: Recipe,
    recipe_path: str,
    cells: Optional[list[Cell]] = None,
    launcher: Optional[str] = None,
    accelerate_config: Optional[str] = None,
    say: Callable = print,
    progress: bool = True,
) -> SweepPaths:
    """Evaluate the base model, then train + evaluate every cell not already done."""
    check_target(recipe, say)  # an unscorable target task stops before the base model or any cell runs
    off = leave_out(recipe, say)  # judges the trust gate keeps off every axis are not run (judge_off.py)
    from tqdm.auto import tqdm

    paths = SweepPaths(sweep_root(recipe))
    paths.root.mkdir(parents=True, exist_ok=True)
    all_cells = sweep_cells(recipe, recipe_path, paths.root)
    cells = all_cells if cells is None else cells
    state = SweepState(paths.root)
    run = SweepRun(recipe_path, paths, state, launcher or recipe.sweep.launcher,
                   accelerate_config or recipe.sweep.accelerate_config, say, progress, off)

    wandb_dir = str(paths.root / "wandb")
    for cell in cells:
        if cell.recipe.tracking.dir is None:  # everything a sweep writes stays under its root
            cell.recipe.tracking.dir = wandb_dir
            cell.overrides = [*cell.overrides, "--tracking.dir", wandb_dir]
    evaluate_base(recipe, paths, state, say, progress, off)
    say_plan(recipe, paths, all_cells, say)
    bar = tqdm(cells, desc="sweep cells", unit="cell", disable=not progress, file=sys.stdout)
    for cell in bar:
        bar.set_postfix_str(cell.label)
        run_cell(cell, run)
    return paths


def say_plan(recipe: Recipe, paths: SweepPaths, cells: list[Cell], say: Callable) -> None:
    """The power plan (sweep/plan.py), from the base model's scores, before any cell trains."""
    out = paths.base_eval_dir(recipe)
    if not (out / "results.jsonl").is_file():  # a base evaluation run elsewhere (SLURM's base job) plans there
        return
    mix = Path(recipe.eval.mix_dir) if recipe.eval.mix_dir else out / "mix"
    rows = point_rows(out, BASE, True)
    for line in plan_lines(recipe, rows, point_samples(out, True), mix, cells):
        say(f"[plan] {line}")


def evaluate_base(recipe: Recipe, paths: SweepPaths, state: SweepState, say: Callable, progress: bool,
                  off: Optional[dict] = None) -> None:
    """off: the judge scorers left out (judge_off.py); the base model is evaluated with the others."""
    h = base_eval_hash(recipe)
    out = paths.base_eval_dir(recipe)
    run_now = judges_run(recipe, off or {})
    if base_is_done(state, recipe, out) and not stale(state.get(BASE), run_now):
        return
    with state.hold(BASE, say, waiting="another process is evaluating the base model"):
        if base_is_done(state, recipe, out) and not stale(state.get(BASE), run_now):  # finished while we waited
            return
        with _recorded_failure(state, BASE):
            _evaluate_base(recipe, state, h, out, say, progress, off or {})


def _evaluate_base(recipe: Recipe, state: SweepState, h: str, out: Path, say: Callable, progress: bool,
                   off: dict) -> None:
    started = time.time()
    state.update(BASE, status="evaluating", eval_hash=h, eval_dir=str(out),
                 eval_identity=ids.identity(recipe, ids.BASE_EVAL_SECTIONS), **{STATE_KEY: sorted(off)})
    say(f"[base] evaluating the base model {recipe.model.id}")
    result = run_eval(without_judges(recipe, off), [], out, include_base=True, progress=progress,
                      say=lambda m: say(f"[base] {m}"))
    say(f"[base] {result.counters.summary_line()}")
    for line in result.truncation + result.warnings:
        say(f"[base] {line}")
    mix = Path(recipe.eval.mix_dir) if recipe.eval.mix_dir else out / "mix"
    if (mix / MANIFEST).is_file():
        for line in target_summary(json.loads((mix / MANIFEST).read_text())):
            say(f"[base] {line}")
    state.update(BASE, status="done", seconds=round(time.time() - started, 1))


def point_is_current(run: SweepRun, cell: Cell, scale: float = AS_TRAINED, step: Optional[int] = None) -> bool:
    """Done, and not evaluated without a judge this sweep runs now (judge_off.py)."""
    return (cell_is_done(run.state, run.paths, cell, scale, step)
            and not stale(run.state.get(point_key(cell, scale, step)), judges_run(cell.recipe, run.off)))


def all_scales_done(run: SweepRun, cell: Cell) -> bool:
    return all(point_is_current(run, cell, s, k) for s, k in cell_points(cell))


def run_cell(cell: Cell, run: SweepRun) -> None:
    state, say = run.state, run.say
    if all_scales_done(run, cell):
        say(f"[{cell.label}] done earlier, skipped")
        return
    with state.hold(cell.label, say):
        if all_scales_done(run, cell):  # another process ran it while we waited
            say(f"[{cell.label}] done earlier, skipped")
            return
        if not point_is_current(run, cell):
            with _recorded_failure(state, cell.label):
                _train(cell, run)
        with _recorded_failure(state, cell.label):
            shares = _generate_together(cell, run)
        for scale, step in cell_points(cell):  # the extra points' records are written under the cell's lock
            if not point_is_current(run, cell, scale, step):
                with _recorded_failure(state, point_key(cell, scale, step)):
                    _evaluate_adapter(cell, run, scale, step, shares.get((scale, step), 0.0))


def _generate_together(cell: Cell, run: SweepRun) -> dict:
    """The answers of the cell's points waiting at scale 1 (the final adapter, kept checkpoints), generated in
    shared batches before their evals read them from the cache (evaluation/together.py). Returns each point's
    share of that time, {(scale, step): seconds}, so its recorded `seconds` still says what it cost."""
    waiting = [(scale, step) for scale, step in cell_points(cell)
               if scale == AS_TRAINED and not point_is_current(run, cell, scale, step)]
    adapters = {p: run.paths.adapter_dir(cell) if p[1] is None else run.paths.step_adapter_dir(cell, p[1])
                for p in waiting}
    points = [p for p in waiting if (adapters[p] / "adapter_config.json").is_file()]
    if not cell.recipe.sweep.mixed_adapters or len(points) < 2:
        return {}
    jobs = [(str(adapters[p]), run.paths.eval_dir(cell, *p)) for p in points]
    done = generate_together(without_judges(cell.recipe, run.off), jobs)
    if done is None:
        return {}
    run.say(f"[{cell.label}] {done.line()}")
    return {p: done.seconds / len(points) for p in points}


def _train(cell: Cell, run: SweepRun) -> None:
    paths, state, say = run.paths, run.state, run.say
    adapter = paths.adapter_dir(cell)
    if not (state.is_trained(cell.label, cell.train_hashes) and (adapter / "adapter_card.json").is_file()):
        state.update(
            cell.label,
            status="training",
            train_hash=cell.train_hash,
            eval_hash=cell.eval_hash,
            train_identity=cell.train_identity,
            adapter=str(adapter),
            values=cell.values,
            seed=cell.seed,
            **({"added": cell.added} if cell.added else {}),
        )
        start = time.time()
        if run.launcher == "accelerate":
            _train_with_accelerate(cell, run.recipe_path, adapter, run.accelerate_config)
        else:
            train_adapter(cell.recipe, output_dir=str(adapter), say=lambda m: say(f"[{cell.label}] {m}"))
        say(f"[{cell.label}] trained in {time.time() - start:.0f} s")
        state.update(cell.label, status="trained", train_seconds=round(time.time() - start, 1))


def _evaluate_adapter(cell: Cell, run: SweepRun, scale: float = AS_TRAINED, step: Optional[int] = None,
                      shared_s: float = 0.0) -> None:
    """Evaluate the cell's trained adapter at one scale, or as kept at one step (generation only; cached).
    shared_s: this point's share of answers generated together with others (_generate_together)."""
    label, out = point_key(cell, scale, step), run.paths.eval_dir(cell, scale, step)
    fields = {} if scale == AS_TRAINED else dict(train_hash=cell.train_hash, adapter_scale=scale)
    if step is not None:
        fields = dict(fields, train_hash=cell.train_hash, step=step)
    started = time.time()
    run.state.update(label, status="evaluating", eval_hash=cell.eval_hash, eval_identity=cell.eval_identity,
                     eval_dir=str(out), **fields, **{STATE_KEY: sorted(run.off)})
    adapter = run.paths.adapter_dir(cell) if step is None else run.paths.step_adapter_dir(cell, step)
    if not (adapter / "adapter_config.json").is_file():
        raise IftkitError(
            f"sweep cell {cell.label}: the adapter of step {step} was not kept ({adapter} is missing); "
            f"delete {run.paths.cell_dir(cell)} to retrain the cell with its checkpoints"
        )
    result = run_eval(without_judges(cell.recipe, run.off), [str(adapter)], out, include_base=False,
                      progress=run.progress, adapter_scale=scale)
    run.say(f"[{label}] {result.counters.summary_line()}")
    for line in result.truncation + result.warnings:
        run.say(f"[{label}] {line}")
    run.state.update(label, status="done", seconds=round(time.time() - started + shared_s, 1))


@contextmanager
def _recorded_failure(state: SweepState, label: str):
    """An error leaves `failed` and its message in the record, for `iftkit sweep status`; the rerun redoes the step."""
    try:
        yield
    except Exception as exc:
        state.update(label, status="failed", failed_step=state.get(label).get("status"), error=str(exc)[:500])
        raise


def _train_with_accelerate(cell: Cell, recipe_path: str, adapter: Path, accelerate_config: Optional[str]) -> None:
    accelerate = shutil.which("accelerate", path=os.path.dirname(sys.executable)) or "accelerate"
    cmd = [accelerate, "launch"]
    if accelerate_config:
        cmd += ["--config_file", accelerate_config]
    # -m: works from an installed package, not only from a checkout holding train/sft.py
    cmd += ["-m", "iftkit", "train", "--config", recipe_path, *cell.overrides, "--output_dir", str(adapter)]
    # the child gets its own W&B service: a shared one would still hold a crashed child's run id
    env = {k: v for k, v in os.environ.items() if k != "WANDB_SERVICE"}
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise IftkitError(f"sweep cell {cell.label}: training failed (exit {proc.returncode}): {' '.join(cmd)}")
