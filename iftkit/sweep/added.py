"""Cells `iftkit sweep decide` added beyond a sweep's grid, kept in <sweep root>/decide.json.

The file is the one record of what decide did: each added cell (its grid values, its seed, the round that
added it and why) and the number of looks its error rate is spent over. Every command that enumerates a
sweep's cells (run, status, collect, decide itself) reads it through `sweep_cells`, so an added cell is
resumed, listed and collected like a planned one, and the report states it as added.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from iftkit.config.schema import Recipe
from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError
from iftkit.report.summary import ALPHA
from iftkit.sweep.grid import Cell, expand, plan_cell
from iftkit.sweep.layout import sweep_root

DECIDE_FILE = "decide.json"


@dataclass
class Added:
    round: int
    label: str
    values: dict  # grid key -> value
    seed: int
    why: str


@dataclass
class DecideLog:
    path: Path
    looks: int = 0  # the most looks at the data any decide run planned: ALPHA is spent over these
    added: list = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> "DecideLog":
        path = Path(root) / DECIDE_FILE
        if not path.is_file():
            return cls(path)
        try:
            d = json.loads(path.read_text())
            return cls(path, int(d["looks"]), [Added(**a) for a in d["added"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise IftkitError(f"{path}: unreadable decide record ({exc!r}); expected {{looks, added: [...]}} as "
                              "`iftkit sweep decide` writes it") from None

    def save(self) -> None:
        write_json_atomic(self.path, {"looks": self.looks, "added": [asdict(a) for a in self.added]}, indent=2)

    @property
    def rounds_done(self) -> int:
        return max((a.round for a in self.added), default=0)

    @property
    def alpha(self) -> float:
        """The level of each look: Bonferroni over the looks, so that the false-lead rate over all of them
        stays at ALPHA however the loop stops."""
        return ALPHA / max(self.looks, 1)


def sweep_cells(recipe: Recipe, source: str = "recipe", root: Optional[Path] = None) -> list[Cell]:
    """The grid's cells, then the cells decide added (marked: Cell.added), in the order they were added."""
    cells = expand(recipe, source=source)
    known = {c.label for c in cells}
    base = recipe.model_dump(mode="json")
    for a in DecideLog.load(root or sweep_root(recipe)).added:
        cell = plan_cell(base, a.values, a.seed, source)
        cell.added = {"round": a.round, "why": a.why}
        if cell.label not in known:
            known.add(cell.label)
            cells.append(cell)
    return cells


def decide_meta(root: Path) -> Optional[dict]:
    """What a report of a sweep decide extended states: the spent level, the looks and the added cells (one
    line listing them with why); None where decide never ran."""
    log = DecideLog.load(root)
    if not log.looks:
        return None
    added = "; ".join(f"{a.label} (round {a.round}: {a.why})" for a in log.added) or "none"
    line = (f"`iftkit sweep decide` looked at this sweep up to {log.looks} times, so every confidence word above holds "
            f"at a family-wise {ALPHA:.0%} over all looks: each look tests at α = {ALPHA:g}/{log.looks} = "
            f"{log.alpha:.4f} (Bonferroni). Cells added beyond the grid: {added}.")
    return {"alpha": log.alpha, "looks": log.looks, "added": [asdict(a) for a in log.added], "lines": ["", line]}
