"""The task catalog: procedurally generated task families, each with its own strict/tolerant scorer.

    from iftkit.data.tasks import get_task, task_names
    task = get_task("sentiment")
    rows = task.generate(100, seed=0, difficulty=2)          # list[Row], reproducible
    task.score("The review is positive!", rows[0].gold, mode="tolerant")   # 1.0 or 0.0

    task.format_ok("positive")                                 # exact expected format?

`get_task(name, fallback=True)` also answers for task names outside the catalog (user data)
with a generic reference-matching scorer.
"""

from iftkit.data.tasks.base import MODES, GenericTask, Task
from iftkit.data.tasks.classify import Sentiment, Topic
from iftkit.data.tasks.extract import EntityTags, ExtractAmount, ExtractDate, ExtractEmails, TicketJSON
from iftkit.data.tasks.knowledge import FactQA, TranslateWords
from iftkit.data.tasks.lists import ConstrainedSentence, CountItems, ListItems, SortItems
from iftkit.data.tasks.reading import ContextQA, Headline
from iftkit.data.tasks.reasoning import Arithmetic, CodeOutput, CompareLogic
from iftkit.data.tasks.rewrite import ChangeCase, ReverseWords
from iftkit.errors import IftkitError

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


def get_task(name: str, fallback: bool = False) -> Task:
    """The catalog family called `name`.

    Unknown names raise IftkitError listing the catalog, unless `fallback`: then a GenericTask
    (reference matching) scores rows of user tasks.
    """
    if name in CATALOG:
        return CATALOG[name]
    if fallback:
        return GenericTask(name)
    raise IftkitError(f"unknown task {name!r} (catalog tasks: {', '.join(CATALOG)})")


__all__ = ["CATALOG", "MODES", "GenericTask", "Task", "get_task", "is_catalog_task", "list_tasks", "task_names"]
