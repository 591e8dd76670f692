"""The task catalog: procedurally generated task families, each with its own strict/tolerant scorer.

    from iftkit.data.tasks import get_task, list_tasks
    task = get_task("sentiment")
    rows = task.generate(100, seed=0, difficulty=2)          # list[Row], reproducible
    task.score("The review is positive!", rows[0].gold, mode="tolerant")   # 1.0 or 0.0

    task.format_ok("positive")                                 # exact expected format?

Each family module ends with `TASKS = (Family(), ...)`; the registry (core/registry.py) collects them
in catalog order, so adding a family is adding one file here, or one entry point in group
`iftkit.tasks` outside iftkit (its families follow the shipped ones in `CATALOG`; `data.general_tasks:
all` keeps to the shipped ones, so installing a plugin never changes a recipe's mix).

`resolve_task(name, spec)` is the one lookup every stage uses: the catalog family, or the
checker of a user task built from its inferred `TaskSpec` (iftkit/data/tasks/user.py), or None
when nothing can check the task (free-form instructions).
"""

from collections.abc import Mapping
from functools import lru_cache
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.registry import Registry
from iftkit.data.tasks.base import MODES, Task
from iftkit.data.tasks.user import KINDS, TaskSpec, UserTask, infer_spec, user_task

# catalog order: "all" general tasks are drawn in this order, so it shapes every default mix
_LISTING_ORDER = ("classify", "extract", "structured", "rewrite", "reasoning", "reading", "lists", "knowledge")
TASK_REGISTRY = Registry("task", __name__, "TASKS", "iftkit.tasks", Task, first=_LISTING_ORDER)


class _Catalog(Mapping):
    """Family name -> Task, read from the registry on every use, so a plugin found later is in it."""

    def __getitem__(self, name: str) -> Task:
        return TASK_REGISTRY.all()[name]

    def __iter__(self):
        return iter(TASK_REGISTRY.all())

    def __len__(self) -> int:
        return len(TASK_REGISTRY.all())


CATALOG: Mapping = _Catalog()


def list_tasks() -> list[str]:
    """Catalog family names, in catalog order."""
    return list(CATALOG)


def shipped_tasks() -> list[str]:
    """The families iftkit ships, in catalog order: what `data.general_tasks: all` means."""
    return list(TASK_REGISTRY.shipped())


def register(task: Task) -> None:
    TASK_REGISTRY.register(task)


def unregister(name: str) -> None:
    TASK_REGISTRY.unregister(name)


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
           "list_tasks", "register", "resolve_task", "shipped_tasks", "task_spec", "unregister"]
