"""The user task's spec, checked before anything trains.

A sweep trains every cell before its report reads a single score, so a set-up that can score nothing
in-domain must stop here, not after hours of training: a free-text target with no reference-based
scorer in eval.scorers (the report's fallback primary, axes.fallback_scorers), a target whose
answers are all the same, a structured target with no valid JSON answer. What only part of the rows
suffers from (answers that are not JSON, records without the item_key field) is warned, and the task's
kind, labels and item_key are printed on every run, a cached mix's included.
"""

from typing import Callable, Optional

from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.data.mix import spec_line
from iftkit.data.pools import target_rows, target_where
from iftkit.data.tasks import TaskSpec
from iftkit.evaluation.scorers import expand, requested_by
from iftkit.report.axes import fallback_scorers


def check_target(recipe: Recipe, say: Optional[Callable] = print) -> Optional[TaskSpec]:
    """The user task's spec (None for a catalog target), its summary and warnings said with `say` (None:
    silent); raises IftkitError, one line naming the fix, when nothing in-domain could be scored."""
    d = recipe.data
    if not d.target_files:
        return None  # a catalog family has its own checker and varied answers
    t = target_rows(recipe.data)
    where = target_where(d)
    if say is not None:
        for line in [spec_line(d.target_task, t.spec), *t.check.warnings(where)]:
            say(line)
    fatal = t.check.fatal(where) or _no_scorer(recipe, t.spec, where)
    if fatal:
        raise IftkitError(fatal)
    return t.spec


def _no_scorer(recipe: Recipe, spec: TaskSpec, where: str) -> Optional[str]:
    """A free-text task has no task checker: only a reference-based scorer can score it in-domain."""
    if spec.kind != "free_text":
        return None
    reference = fallback_scorers()
    if set(expand(recipe.eval.scorers) + requested_by(recipe)) & set(reference):
        return None
    why = "set in data.target_kind" if spec.overridden else f"inferred: {spec.reason}"
    return (f"{where}: the target is a free-text task ({why}), which has no task checker, and eval.scorers "
            f"{recipe.eval.scorers} has no reference-based scorer ({', '.join(reference)}) to score it: "
            f"add lexical or embedding to eval.scorers")
