"""The task catalog: procedurally generated task families, each with its own strict/tolerant scorer.

    from iftkit.data.tasks import get_task, task_names
    task = get_task("sentiment")
    rows = task.generate(100, seed=0, difficulty=2)          # list[Row], reproducible
    task.score("The review is positive!", rows[0].gold, mode="tolerant")   # 1.0 or 0.0

    task.format_ok("positive")                                 # exact expected format?

`resolve_task(name, spec)` is the one lookup every stage uses: the catalog family, or the
checker of a user task built from its inferred `TaskSpec` (iftkit/data/tasks/user.py), or None
when nothing can check the task (free-form instructions).
"""

from functools import lru_cache
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.data.tasks.base import MODES, Task
from iftkit.data.tasks.classify import Sentiment, Topic
from iftkit.data.tasks.extract import EntityTags, ExtractAmount, ExtractDate, ExtractEmails, TicketJSON
from iftkit.data.tasks.knowledge import FactQA, TranslateWords
from iftkit.data.tasks.lists import ConstrainedSentence, CountItems, ListItems, SortItems
from iftkit.data.tasks.reading import ContextQA, Headline
from iftkit.data.tasks.reasoning import Arithmetic, CodeOutput, CompareLogic
from iftkit.data.tasks.rewrite import ChangeCase, ReverseWords
from iftkit.data.tasks.user import KINDS, TaskSpec, UserTask, infer_spec, user_task

_FAMILIES = (Sentiment, Topic, ExtractEmails, ExtractDate, ExtractAmount, TicketJSON, EntityTags,
             ChangeCase, ReverseWords, Arithmetic, CompareLogic, CodeOutput, ContextQA, Headline,
             SortItems, CountItems, ListItems, ConstrainedSentence, TranslateWords, FactQA)

CATALOG: dict = {cls.name: cls() for cls in _FAMILIES}


def list_tasks() -> list[str]:
    """Catalog family names, in catalog order."""
    return list(CATALOG)


task_names = list_tasks


def is_catalog_task(name: str) -> bool:
    return name in CATALOG


def get_task(name: str) -> Task:
    """The catalog family called `name` (unknown names raise IftkitError listing the catalog)."""
    if name in CATALOG:
        return CATALOG[name]
    raise IftkitError(f"unknown task {name!r} (catalog tasks: {', '.join(CATALOG)})")


def resolve_task(name: str, spec=None) -> Optional[Task]:
    """The checker of task `name`: the user task its spec describes (a TaskSpec or its dict form,
    as stored in manifests and row meta), else its catalog family, else None."""
    if spec is None:
        return CATALOG.get(name)
    # a spec means user rows, even under a catalog family's name: their labels are the user's
    return _user_task(name, spec if isinstance(spec, TaskSpec) else TaskSpec.from_dict(spec, f"task {name!r}"))


@lru_cache(maxsize=256)
def _user_task(name: str, spec: TaskSpec) -> UserTask:
    return user_task(name, spec)


def task_spec(meta) -> Optional[dict]:
    """The task spec a row or sample record carries in its meta (user tasks), or None."""
    return meta.get("task_spec") if isinstance(meta, dict) else None


__all__ = ["CATALOG", "KINDS", "MODES", "Task", "TaskSpec", "get_task", "infer_spec", "is_catalog_task",
           "list_tasks", "resolve_task", "task_names", "task_spec"]
