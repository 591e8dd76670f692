"""Which lm-eval task configs a run uses, and a hash of what each one's numbers depend on.

Tasks are looked up in the harness's own index plus two folders of task YAMLs: the packaged
offline tasks (tasks/ beside this file) and the recipe's eval.lm_eval.task_dir (searched last,
so it wins a name clash). A task YAML in those folders may name its `data_files` relative to
itself: they are made absolute here and the task is handed to the harness as its full config.
The hash covers the YAML and every local data file it reads; the harness version is recorded
next to it, and pins the harness's own task files.
"""

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Optional, Union

from iftkit.core.errors import IftkitError

PACKAGED_TASKS = "tasks"  # package data of iftkit.evaluation.harness


@dataclass
class TaskPlan:
    name: str  # the name the recipe asked for (a task or a group)
    spec: Union[str, dict]  # what the harness is given: the name, or the full config of a local task
    config_hash: str
    source: str  # the YAML it came from ("" when the harness builds it in code)


def packaged_task_dir() -> Path:
    return Path(str(resources.files("iftkit.evaluation.harness").joinpath(PACKAGED_TASKS)))


def task_manager(names: list[str], task_dir: Optional[str]):
    """A harness TaskManager that knows every name asked for. Indexing the harness's own tasks
    takes ~10 s on a small CPU, so it is skipped when the local folders hold them all."""
    from lm_eval.tasks import TaskManager

    folders = [packaged_task_dir()]
    if task_dir:
        if not Path(task_dir).is_dir():
            raise IftkitError(f"eval.lm_eval.task_dir: not a directory: {task_dir}")
        folders.append(Path(task_dir))
    local = TaskManager(include_path=[str(f) for f in folders], include_defaults=False)
    if all(n in local.task_index for n in names):
        return local
    return TaskManager(include_path=[str(f) for f in folders])


def plan_tasks(names: list[str], manager, task_dir: Optional[str]) -> list[TaskPlan]:
    local_roots = [packaged_task_dir().resolve()] + ([Path(task_dir).resolve()] if task_dir else [])
    plans = []
    for name in names:
        entry = manager.task_index.get(name)
        if entry is None:
            where = f"{task_dir} or " if task_dir else ""
            raise IftkitError(
                f"eval.lm_eval.tasks: unknown task {name!r} (not in {where}the packaged tasks "
                f"iftkit_mc, iftkit_ifeval, nor the harness's own; `lm-eval ls tasks` lists those)"
            )
        yaml_path = Path(entry.yaml_path).resolve() if entry.yaml_path else None
        local = yaml_path is not None and any(yaml_path.is_relative_to(r) for r in local_roots)
        if local and entry.kind.name == "TASK":
            cfg, files = _local_config(yaml_path)
            plans.append(TaskPlan(name, cfg, _hash([yaml_path, *files]), str(yaml_path)))
        else:
            plans.append(TaskPlan(name, name, _hash([yaml_path] if yaml_path else []), str(yaml_path or "")))
    return plans


def _local_config(yaml_path: Path) -> tuple[dict, list[Path]]:
    from lm_eval.tasks._yaml_loader import load_yaml

    try:
        cfg = load_yaml(yaml_path, resolve_func=True)
    except Exception as exc:  # the harness raises bare ValueError/ImportError/YAMLError here
        raise IftkitError(
            f"{yaml_path}: cannot load this lm-eval task config ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    kwargs = dict(cfg.get("dataset_kwargs") or {})
    files: list[Path] = []

    def anchor(v):
        p = Path(v) if Path(v).is_absolute() else yaml_path.parent / v
        if not p.is_file():
            raise IftkitError(f"{yaml_path}: dataset_kwargs.data_files: file not found: {p}")
        files.append(p)
        return str(p)

    data_files = kwargs.get("data_files")
    if isinstance(data_files, str):
        kwargs["data_files"] = anchor(data_files)
    elif isinstance(data_files, list):
        kwargs["data_files"] = [anchor(v) for v in data_files]
    elif isinstance(data_files, dict):
        kwargs["data_files"] = {
            k: anchor(v) if isinstance(v, str) else [anchor(x) for x in v] for k, v in data_files.items()
        }
    if data_files is not None:
        cfg["dataset_kwargs"] = kwargs
    return cfg, files


def _hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]
