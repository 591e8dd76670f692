"""Task scorers: the catalog task's own checker (strict = exact format, tolerant = lenient
parsing), and format compliance (does the output parse in the task's expected format)."""

from functools import lru_cache

from iftkit.evaluation.scorers.base import Scorer


@lru_cache(maxsize=None)
def _task(name: str):
    try:
        from iftkit.data.tasks import get_task, list_tasks
    except ImportError:
        return None
    return get_task(name) if name in list_tasks() else None


class TaskScore(Scorer):
    def __init__(self, mode: str):
        self.mode = mode
        self.name = f"task_{mode}"

    def score(self, samples):
        out = []
        for s in samples:
            task = _task(s.task)
            # rows without a catalog checker (free-form instructions) are not applicable
            out.append(None if task is None or s.gold is None else float(task.score(s.prediction, s.gold, mode=self.mode)))
        return out


class FormatCompliance(Scorer):
    name = "task_format"

    def score(self, samples):
        out = []
        for s in samples:
            task = _task(s.task)
            out.append(None if task is None else float(bool(task.format_ok(s.prediction))))
        return out
