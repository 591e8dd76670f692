"""Read the eval stage's per-sample records and attach a reference judgment to each.

A results directory is an eval `--out` dir (samples.jsonl) or any folder above several of
them (a sweep dir): every samples.jsonl found under it is read.
"""

from pathlib import Path
from typing import Any, Callable, Optional

from iftkit.core.errors import IftkitError
from iftkit.data.tasks import resolve_task, task_spec
from iftkit.evaluation.records import SampleRecord, read_samples


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


def read_records(results) -> list[SampleRecord]:
    root = Path(results)
    records = []
    for path in find_sample_files(root):
        rel = "" if path.parent == root or root.is_file() else str(path.parent.relative_to(root))
        records.extend(_read_file(path, rel))
    if not records:
        raise IftkitError(f"--results {results}: the samples files are empty")
    return records


def _read_file(path: Path, run: str) -> list[SampleRecord]:
    # lm-eval's per-document metrics are the harness's scoring, not a scorer to meta-evaluate; the forgetting
    # suite's records hold a measured likelihood and no answer (evaluation/forgetting.py)
    return [r for r in read_samples(path, run) if not r.suite.startswith("lm_eval/") and r.likelihood is None]


def default_task_lookup() -> Callable[..., Any]:
    """(task name, task spec or None) -> the task's checker, or None where nothing can check it
    (free-form instructions, free-text user tasks)."""
    def lookup(name, spec=None):
        task = resolve_task(name, spec)
        return task if task is not None and task.checkable else None

    return lookup


def gold_reference(records: list[SampleRecord], task_lookup=None) -> list[Optional[float]]:
    """Reference judgment from the task's tolerant checker; None where no gold checker exists."""
    lookup = task_lookup or default_task_lookup()
    out = []
    for r in records:
        task = lookup(r.task, task_spec(r.meta))
        if task is None or r.gold is None or r.prediction is None:  # no answer: no judgment, not a 0
            out.append(None)
        else:
            out.append(float(task.score(r.prediction, r.gold, mode="tolerant")))
    return out


def scorer_names(records: list[SampleRecord]) -> list[str]:
    names: dict = {}
    for r in records:
        for k in r.scores:
            names.setdefault(k, None)
    return list(names)
