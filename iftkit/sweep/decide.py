"""`iftkit sweep decide`: after the planned cells, spend a budget of cells only where a pick is still open.

Each round reads the report's points and recommendations (finish_sweep), plans the next cells
(decide_plan.plan_round: one more seed for each point that could change an open S1 or S2 pick, and an
intermediate grid value where a fitted curve proposes one), records them in decide.json before training
(a killed decide resumes them; run, status and collect list them), trains and scores them through the
sweep's own cell code, and looks again. It stops when both picks are "high", when nothing could change
them, or when sweep.decide.max_cells or max_rounds is spent.

Every look is a test: the report's confidence words use ALPHA / (max_rounds + 1) at every look
(Bonferroni), so the false-lead rate over all looks stays at ALPHA however the loop stops
(scripts/calibrate_stats.py --decide checks it by simulation).
"""

import time
from typing import Callable, Optional

from iftkit.config.schema import Recipe
from iftkit.report import curve
from iftkit.report.render import ReportFiles
from iftkit.sweep.added import Added, DecideLog, sweep_cells
from iftkit.sweep.decide_plan import Plan, plan_round, settled
from iftkit.sweep.finish import finish_sweep
from iftkit.sweep.grid import Cell, plan_cell
from iftkit.sweep.layout import SweepPaths, cell_points, point_key, sweep_root
from iftkit.sweep.runner import run_sweep

INTERMEDIATE = "intermediate value"
SETTLED = "both picks settled (high, or nothing another seed could change)"


def run_decide(recipe: Recipe, recipe_path: str, launcher: Optional[str] = None,
               accelerate_config: Optional[str] = None, say: Callable = print, progress: bool = True,
               propose_ratio: Optional[Callable] = None) -> ReportFiles:
    """Run the planned cells (and any decide added before), then the decide rounds; the last report's files.
    propose_ratio: points -> (grid value, why) or None; None = the fitted curve's (report/curve.py)."""
    start, conf = time.time(), recipe.sweep.decide
    propose_ratio = propose_ratio or curve_proposal(recipe)
    paths = SweepPaths(sweep_root(recipe))
    paths.root.mkdir(parents=True, exist_ok=True)
    log = DecideLog.load(paths.root)
    log.looks = max(log.looks, conf.max_rounds + 1)
    log.save()
    say(f"decide: up to {conf.max_cells} added cells over {conf.max_rounds} rounds; each of the {log.looks} looks "
        f"tests at α = {log.alpha:.4f} (0.05 spent over the looks)")
    cells = sweep_cells(recipe, recipe_path, paths.root)

    def look(todo: list[Cell]) -> ReportFiles:
        run_sweep(recipe, recipe_path, todo, launcher, accelerate_config, say=say, progress=progress)
        return finish_sweep(recipe, paths, cells, say=say)

    files = look(cells)
    stop = "rounds spent"
    for rnd in range(log.rounds_done + 1, conf.max_rounds + 1):
        budget = conf.max_cells - len(log.added)
        ratio_done = any(a.why.startswith(INTERMEDIATE) for a in log.added)
        plan = plan_round(files.recommendations, files.points, budget, propose_ratio,
                          ratio_cells=0 if ratio_done else len(recipe.sweep.seeds))
        if not plan.cells:
            stop = _why_stopped(files, budget)
            break
        new = _new_cells(plan, cells, recipe, recipe_path, rnd)
        log.added += [Added(rnd, c.label, c.values, c.seed, c.added["why"]) for c in new]
        log.save()  # before training: a killed decide finds them in the record and resumes them
        cells += new
        say(f"decide round {rnd}: adding " + ", ".join(f"{c.label} ({c.added['why']})" for c in new))
        files = look(new)
    else:
        if _all_settled(files):
            stop = SETTLED
    say(f"decide: {stop}; {len(log.added)} cell(s) added in all "
        f"({', '.join(a.label for a in log.added) or 'none'}); {time.time() - start:.0f} s")
    return files


def curve_proposal(recipe: Recipe) -> Optional[Callable]:
    """The fitted curve's intermediate grid value, for a grid of one key (which of several keys to refine is
    not the curve's choice)."""
    if len(recipe.sweep.grid) != 1:
        return None
    x_key = next(iter(recipe.sweep.grid))

    def propose(pts) -> Optional[tuple]:
        got = curve.propose_ratio(pts, x_key)
        return (got.x, got.reason) if got.x is not None else None

    return propose


def _all_settled(files: ReportFiles) -> bool:
    return all(settled(r, files.points) for r in files.recommendations)


def _why_stopped(files: ReportFiles, budget: int) -> str:
    if budget <= 0:
        return "budget of cells spent (sweep.decide.max_cells)"
    return SETTLED if _all_settled(files) else "the open picks left no point to add to"


def _new_cells(plan: Plan, cells: list[Cell], recipe: Recipe, recipe_path: str, rnd: int) -> list[Cell]:
    """The plan's cells: one more seed (the next unused for those grid values) per point, and the
    intermediate grid value at the sweep's planned seeds."""
    of_point = {point_key(c, s, k): c for c in cells for s, k in cell_points(c)}
    base = recipe.model_dump(mode="json")
    out: list[Cell] = []

    def add(values: dict, seed: int, why: str) -> None:
        cell = plan_cell(base, values, seed, recipe_path)
        cell.added = {"round": rnd, "why": why}
        out.append(cell)

    for p, why in plan.seeds:
        values = of_point[p.cells[0]].values
        used = [c.seed for c in cells + out if c.values == values]
        add(values, max(used) + 1, why)
    if plan.ratio is not None:
        value, why = plan.ratio
        x_key = next(iter(recipe.sweep.grid))
        template = next((of_point[p.cells[0]].values for p, _ in plan.seeds), cells[0].values)
        for seed in recipe.sweep.seeds:
            add({**template, x_key: value}, seed, f"{INTERMEDIATE} {x_key} = {value}: {why}")
    known = {c.label for c in cells}
    return [c for c in out if c.label not in known]  # a proposed value already in the grid adds nothing
