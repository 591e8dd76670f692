"""`iftkit sweep [run|status|collect|decide] --config R [--dotted.overrides]` (also scripts/sweep.py).

run (default): evaluate the base model, train + evaluate every grid cell not already done,
then write results, charts and report under runs/<name>/. Rerunning skips finished cells.
status: one line per cell from its state record (done, running where, stopped, failed why), and
on a SLURM machine what squeue/sacct say about the job that runs or ran it.
collect: gather whatever cells have finished (e.g. on shared storage after a SLURM array)
into the results table and report, without training anything.
decide: run, then add training seeds (and an intermediate grid value) only where a pick is still open, within
sweep.decide.max_cells and max_rounds (sweep/decide.py); the added cells are listed in <sweep>/decide.json.
"""

import time

from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.sweep.added import sweep_cells
from iftkit.sweep.changes import changed_points, matched, point_status
from iftkit.sweep.emit import JobSpec, agent_arguments, cell_from_args, job_names, write_emitted
from iftkit.sweep.layout import BASE, SweepPaths, cell_points, point_key, sweep_root
from iftkit.sweep.own_task import OwnTask, prepare
from iftkit.sweep.runner import run_sweep
from iftkit.sweep.slurm_view import query
from iftkit.sweep.state import SweepState

ACCEPTS_OVERRIDES = True
ACTIONS = ("run", "status", "collect", "decide")


def add_arguments(p):
    # `run` (default), `status`, `collect` or `decide` is taken from the leftover arguments: a positional here
    # would swallow the values of dotted overrides
    p.add_argument(
        "--config",
        help="sweep recipe YAML (with a sweep: section); with --target-file, the sweep to "
        "run on your file (default: the quickstart sweep)",
    )
    own = p.add_argument_group("your own task (writes runs/<name>-sweep/recipe.yaml, then runs it)")
    own.add_argument("--target-file", help="your task's rows: JSONL/JSON/CSV/TSV/Parquet")
    own.add_argument("--target-name", help="task name (default: the file name)")
    own.add_argument("--columns", help="column mapping, e.g. prompt=sentence,completion=label")
    own.add_argument(
        "--prompt-template", help="instruction with {column} placeholders, e.g. 'Sentiment of: {sentence}'"
    )
    own.add_argument("--labels", help="label mapping for the completion column, e.g. 0=negative,1=positive")
    p.add_argument("--cell", action="append", help="run only this cell label (repeatable); used by SLURM array tasks")
    p.add_argument(
        "--one-cell",
        action="store_true",
        help="run the single cell whose grid values are given as --key=value args (W&B agent)",
    )
    p.add_argument(
        "--base-only",
        action="store_true",
        help="evaluate the base model only (the first SLURM job; the cells then find it done)",
    )
    p.add_argument(
        "--emit", choices=["slurm", "wandb"], help="write a SLURM array script or W&B sweep config, run nothing"
    )
    p.add_argument(
        "--gpus-per-task",
        type=int,
        help="with --emit slurm: GPUs each job asks for (default 1; 0 for CPU-only nodes)",
    )
    p.add_argument("--cpus-per-task", type=int, help="with --emit slurm: CPUs each job asks for (default 8)")
    p.add_argument("--launcher", choices=["inprocess", "accelerate"], help="override sweep.launcher")
    p.add_argument("--accelerate-config", help="accelerate config file for --launcher accelerate")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--force",
        action="store_true",
        help="collect: write the table and report even where that drops finished points (run with other recipe "
        "values) or rows the table already holds",
    )


def run(args) -> int:
    from iftkit.sweep.finish import finish_sweep  # pulls matplotlib: only once a sweep is asked for

    action, recipe, recipe_path, cells, overrides, extra = recipe_and_cells(args)
    paths = SweepPaths(sweep_root(recipe))
    resources = _job_resources(args)
    if args.emit:
        return _emit(args.emit, args.accelerate_config or recipe.sweep.accelerate_config, cells, recipe_path,
                     paths, resources, overrides)
    if action == "collect":
        finish_sweep(recipe, paths, cells, force=args.force)
        return 0
    if action == "status":
        print_status(recipe, paths, cells, recipe_path)
        return 0
    if action == "decide":
        return _decide(args, recipe, recipe_path)
    chosen = chosen_cells(args, cells, extra)
    _quiet_libraries()
    start = time.time()
    print(f"sweep {recipe.name}: {len(chosen)} of {len(cells)} cells, output {paths.root}", flush=True)
    run_sweep(recipe, recipe_path, chosen, args.launcher, args.accelerate_config, progress=not args.no_progress,
              say=lambda m: print(m, flush=True))
    if chosen is cells:
        finish_sweep(recipe, paths, cells, force=args.force)
    print(f"sweep finished in {time.time() - start:.0f} s", flush=True)
    return 0


def _decide(args, recipe, recipe_path: str) -> int:
    from iftkit.sweep.decide import run_decide

    if args.cell or args.one_cell or args.base_only:
        raise IftkitError("decide runs the whole sweep and its added cells: --cell, --one-cell and --base-only go "
                          "with run")
    _quiet_libraries()
    run_decide(recipe, recipe_path, args.launcher, args.accelerate_config, say=lambda m: print(m, flush=True),
               progress=not args.no_progress)
    return 0


def recipe_and_cells(args) -> tuple:
    """(action, recipe, the recipe's file, the grid's cells, the recipe overrides, the arguments that pick a cell)."""
    action, extra = _action(list(args.overrides))
    # --one-cell (a W&B agent): the grid values among the leftover arguments pick the cell, the rest override
    # the recipe (what --emit wandb was given)
    overrides = extra
    if args.one_cell:
        overrides, extra = agent_arguments(extra, lambda o: _recipe(args, o, quiet=True)[0].sweep.grid)
    recipe, recipe_path = _recipe(args, overrides)
    # the grid's cells and those `decide` added: run, status and collect see both
    return action, recipe, recipe_path, sweep_cells(recipe, recipe_path), overrides, extra


def _action(extra: list) -> tuple[str, list]:
    """`run`, `status`, `collect` or `decide`, first or last among the leftover arguments (default run)."""
    for pos in (0, -1):
        if extra and extra[pos] in ACTIONS:
            action = extra.pop(pos)
            return action, extra
    return "run", extra


def _recipe(args, overrides: list, quiet: bool = False):
    """The sweep's recipe and the file it lives in: --config, or the one written for --target-file."""
    if args.target_file:
        task = OwnTask.from_flags(args.target_file, args.target_name, args.columns, args.labels, args.prompt_template)
        own = prepare(task, args.config, overrides)
        if own.note and not quiet:
            print(own.note, flush=True)
        if not quiet:
            print(own.max_length_line, flush=True)
            print(f"recipe: {own.path} (rerun or edit it: iftkit sweep --config {own.path})", flush=True)
        recipe, path = own.recipe, str(own.path)
    elif not args.config:
        raise IftkitError("give --config RECIPE (a sweep recipe) or --target-file FILE (your own task)")
    elif args.columns or args.labels or args.prompt_template or args.target_name:
        raise IftkitError("--columns, --labels, --prompt-template and --target-name go with --target-file")
    else:
        recipe, path = load_recipe(args.config, overrides), args.config
    if not recipe.sweep.grid:
        raise IftkitError(
            f"{path}: key 'sweep.grid' is empty; a sweep needs at least one grid key, "
            "e.g. mix.target_ratio: [0.0, 0.5, 1.0]"
        )
    return recipe, path


def _job_resources(args) -> dict:
    """--gpus-per-task / --cpus-per-task, for an emitted SLURM script only."""
    resources = {
        k: v for k, v in (("gpus_per_task", args.gpus_per_task), ("cpus_per_task", args.cpus_per_task)) if v is not None
    }
    if resources and args.emit != "slurm":
        raise IftkitError("--gpus-per-task and --cpus-per-task go with --emit slurm")
    if resources.get("gpus_per_task", 0) < 0 or resources.get("cpus_per_task", 1) < 1:
        raise IftkitError("--gpus-per-task must be 0 or more and --cpus-per-task 1 or more")
    return resources


def _emit(kind: str, accelerate_config, cells, recipe_path: str, paths, resources: dict, overrides: list) -> int:
    job = JobSpec(accelerate_config=accelerate_config, overrides=overrides, **resources)
    path = write_emitted(kind, cells, recipe_path, paths.root, job)
    print(f"wrote {path} ({len(cells)} cells)")
    if kind == "slurm":
        print(f"submit: bash {path} (base-model evaluation first, then the cell array after it succeeded)")
    return 0


def chosen_cells(args, cells: list, extra: list) -> list:
    """The cells this invocation runs: all (the list itself), none (--base-only), --cell labels, or the one
    cell whose grid values --one-cell gives."""
    if args.base_only:
        return []
    if args.cell:
        known = {c.label: c for c in cells}
        unknown = [c for c in args.cell if c not in known]
        if unknown:
            raise IftkitError(f"--cell {unknown[0]!r} is not in this sweep; cells: {', '.join(known)}")
        return [known[c] for c in args.cell]
    if args.one_cell:
        return [cell_from_args(cells, extra)]
    return cells


def print_status(recipe, paths, cells, recipe_path: str) -> None:
    state = SweepState(paths.root)
    # matched exactly as collect matches: done for the recipe's current values, results on disk
    finished = matched(recipe, paths, cells)
    changes = {c.label: c for c in changed_points(recipe, paths, cells)}
    # a cell's extra points (scales, checkpoints) run under the cell's own lock
    labels = [(BASE, BASE)] + [(point_key(c, s, k), c.label) for c in cells for s, k in cell_points(c)]
    width = max(len(label) for label, _ in labels)
    extra_cells = {c.label: c.added for c in cells if c.added}
    # the scheduler's view, where this is a SLURM machine: each job found by its name (array task
    # index = the cell's place in the grid, as in sweep.slurm's CELLS) or by the id its record names
    base_name, array_name = job_names(paths.root)
    tasks = {BASE: (base_name, None)} | {c.label: (array_name, i) for i, c in enumerate(cells)}
    records = {label: state.get(label) for label in tasks}
    raw_ids = {r["slurm_job_id"]: r.get("slurm_job") for r in records.values() if r.get("slurm_job_id")}
    scripts = (paths.root / "base.slurm", paths.root / "sweep.slurm")
    # only a sweep emitted for SLURM has jobs to look for
    view = query((base_name, array_name), scripts, raw_ids) if scripts[1].is_file() else None
    if view is not None:
        print(f"scheduler: {view.source}")
    for label, held_as in labels:
        added = extra_cells.get(held_as) if label == held_as else None
        print(f"{label:<{width}}  {point_status(state, label, held_as, label in finished, changes.get(label))}"
              + (f"  [added by decide, round {added['round']}: {added['why']}]" if added else ""))
        jobs = (
            view.for_point(*tasks[label], raw_id=records[label].get("slurm_job_id")) if view and label in tasks else []
        )
        if jobs:
            print(f"{'':<{width}}  slurm: {'; then '.join(j.describe() for j in jobs)}")
    done = sum(c.label in finished for c in cells)
    print(f"{done} of {len(cells)} cells done; gather them with: iftkit sweep collect --config {recipe_path}")
    if changes:
        print(f"{len(changes)} point(s) ran with other recipe values (above): collect leaves them out, "
              "a run redoes them")


def _quiet_libraries() -> None:
    """A sweep prints one line per step and its own progress bars; library chatter hides them."""
    import warnings

    import datasets
    from transformers.utils import logging as hf_logging

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
