"""Task scorers: the task's own checker (strict = exact format, tolerant = the right answer in
any format) and format compliance, for catalog families and the user's own tasks alike.

The checker comes from `resolve_task` with the task spec the row carries (user tasks); rows
that nothing can check (free-form instructions, free-text user tasks) get None: not applicable.
"""

from iftkit.data.tasks import resolve_task, task_spec
from iftkit.evaluation.scorers.base import Scorer
from iftkit.evaluation.scorers.registry import ScorerInfo


def checker(sample):
    task = resolve_task(sample.task, task_spec(sample.meta))
    return task if task is not None and task.checkable else None


class TaskScore(Scorer):
    def __init__(self, mode: str):
        self.mode = mode
        self.name = f"task_{mode}"

    def score(self, samples):
        out = []
        for s in samples:
            task = checker(s)
            out.append(
                None if task is None or s.gold is None else float(task.score(s.prediction, s.gold, mode=self.mode))
            )
        return out


class FormatCompliance(Scorer):
    name = "task_format"

    def score(self, samples):
        out = []
        for s in samples:
            task = checker(s)
            out.append(None if task is None else float(bool(task.format_ok(s.prediction))))
        return out


SCORERS = (
    ScorerInfo(
        "task_strict", lambda: TaskScore("strict"), "the task's checker, exact expected format", aliases=("task",)
    ),
    ScorerInfo(
        "task_tolerant",
        lambda: TaskScore("tolerant"),
        "the task's checker, right answer in any format",
        aliases=("task",),
    ),
    ScorerInfo(
        "task_format",
        FormatCompliance,
        "output in the task's exact expected format (right or wrong)",
        aliases=("task",),
    ),
)
