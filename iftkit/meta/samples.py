"""Read the eval stage's per-sample records and attach a reference judgment to each.

A results directory is an eval `--out` dir (samples.jsonl) or any folder above several of
them (a sweep dir): every samples.jsonl found under it is read.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from iftkit.data.tasks import resolve_task, task_spec
from iftkit.errors import IftkitError
from iftkit.io.readers import iter_jsonl

REQUIRED_KEYS = ("model", "task", "prediction", "scores")


@dataclass
class Record:
    """One scored generation, as the eval contract writes it (plus where it came from)."""

    model: str
    suite: str
    task: str
    category: str
    sample_id: str
    prompt: list
    prediction: str
    reference: str
    gold: Any
    scores: dict
    judge: dict = field(default_factory=dict)
    run: str = ""  # which samples.jsonl (relative), so models of different runs stay apart
    human: Optional[float] = None  # imported human score, when a human file was given
    meta: dict = field(default_factory=dict)  # the row's meta (a user task's task_spec travels here)

    @property
    def model_key(self) -> str:
        return f"{self.run}:{self.model}" if self.run else self.model


def find_sample_files(results: Path) -> list[Path]:
    results = Path(results)
    if results.is_file() and results.name.endswith(".jsonl"):
        return [results]
    if not results.is_dir():
        raise IftkitError(f"--results {results}: no such directory (expected an eval --out dir or a sweep dir)")
    files = sorted(results.rglob("samples.jsonl"))
    if not files:
        raise IftkitError(f"--results {results}: no samples.jsonl under it (run `iftkit eval --out DIR` first)")
    return files


def read_records(results) -> list[Record]:
    root = Path(results)
    records = []
    for path in find_sample_files(root):
        rel = "" if path.parent == root or root.is_file() else str(path.parent.relative_to(root))
        records.extend(_read_file(path, rel))
    if not records:
        raise IftkitError(f"--results {results}: the samples files are empty")
    return records


def _read_file(path: Path, run: str) -> list[Record]:
    out = []
    for lineno, d in iter_jsonl(path):
        where = f"{path}:{lineno}"
        if not isinstance(d, dict):
            raise IftkitError(f"{where}: expected a JSON object per line")
        missing = [k for k in REQUIRED_KEYS if k not in d]
        if missing:
            raise IftkitError(f"{where}: sample record lacks {', '.join(missing)} (eval samples.jsonl format)")
        if not isinstance(d["scores"], dict):
            raise IftkitError(f"{where}: 'scores' must be an object {{scorer: value}}")
        if str(d.get("suite", "")).startswith("lm_eval/"):
            continue  # lm-eval's per-document metrics: the harness's scoring, not a scorer to meta-evaluate
        out.append(
            Record(
                model=str(d["model"]),
                suite=str(d.get("suite", "")),
                task=str(d["task"]),
                category=str(d.get("category", "")),
                sample_id=str(d.get("sample_id", lineno)),
                prompt=d.get("prompt") or [],
                prediction=str(d["prediction"] or ""),
                reference=str(d.get("reference") or ""),
                gold=d.get("gold"),
                scores=d["scores"],
                judge=d.get("judge") or {},
                run=run,
                meta=d.get("meta") if isinstance(d.get("meta"), dict) else {},
            )
        )
    return out


def default_task_lookup() -> Callable[..., Any]:
    """(task name, task spec or None) -> the task's checker, or None where nothing can check it
    (free-form instructions, free-text user tasks)."""
    def lookup(name, spec=None):
        task = resolve_task(name, spec)
        return task if task is not None and task.checkable else None

    return lookup


def gold_reference(records: list[Record], task_lookup=None) -> list[Optional[float]]:
    """Reference judgment from the task's tolerant checker; None where no gold checker exists."""
    lookup = task_lookup or default_task_lookup()
    out = []
    for r in records:
        task = lookup(r.task, task_spec(r.meta))
        if task is None or r.gold is None:
            out.append(None)
        else:
            out.append(float(task.score(r.prediction, r.gold, mode="tolerant")))
    return out


def scorer_names(records: list[Record]) -> list[str]:
    names: dict = {}
    for r in records:
        for k in r.scores:
            names.setdefault(k, None)
    return list(names)
