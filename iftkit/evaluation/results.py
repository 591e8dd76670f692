"""Per-sample records and aggregate result rows, written so that a crash never corrupts them.

samples.jsonl is append-only: each record is one line, flushed and fsynced; a reader takes
the last record per (model, suite, task, sample_id) and drops a torn final line (the process
died mid-write), which the next run recomputes. results.jsonl and results.parquet are
derived from the samples each time, written to a temp file and renamed into place.
"""

import json
import math
import os
from pathlib import Path

import numpy as np

from iftkit.core.atomic import atomic_write
from iftkit.core.errors import IftkitError
from iftkit.core.provenance import provenance_line
from iftkit.core.readers import iter_jsonl
from iftkit.core.stats import bootstrap, mean_interval
from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.suites import LM_EVAL_PREFIX

SAMPLES = "samples.jsonl"
RESULTS = "results.jsonl"
RESULTS_PARQUET = "results.parquet"
RESULT_COLUMNS = [
    "model",
    "adapter_path",
    "suite",
    "task",
    "scorer",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "higher_is_better",
    "scale",
    # the type of one value: "binary" (0/1) or "continuous"; with scale, it chooses the report's intervals
    "values",
    # how the group's answers became `mean` (scorers/base.py: a mean per answer, micro over items...)
    "aggregation",
    "n_failed",
    # answers of the group, how many of them stopped on the generation length limit, and that limit
    # (None where not recorded: samples written before the flag existed)
    "n_answers",
    "n_truncated",
    "max_new_tokens",
    # lm-eval rows only (None elsewhere): the harness's stderr and what produced the number
    "stderr",
    "num_fewshot",
    "limit",
    "harness",
    "task_config_hash",
    "sentence_splitter",
    # hardware and library versions behind the number
    "provenance",
]


class SampleLog:
    def __init__(self, out_dir):
        self.path = Path(out_dir) / SAMPLES
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[tuple, SampleRecord] = {}
        self._load()

    def _load(self):
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        for line in data[:good_end].splitlines():
            if line.strip():
                try:
                    rec = SampleRecord.from_dict(json.loads(line), str(self.path))
                    self.records[rec.key] = rec
                except (json.JSONDecodeError, IftkitError):
                    continue  # a damaged line is recomputed, never trusted
        if good_end < len(data):  # torn last line: cut it so appends start on a fresh line
            with open(self.path, "r+b") as f:
                f.truncate(good_end)

    def get(self, key):
        return self.records.get(key)

    def append(self, records: list[SampleRecord]):
        if not records:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec.to_dict(), ensure_ascii=False, sort_keys=True, default=str) + "\n")
                self.records[rec.key] = rec
            f.flush()
            os.fsync(f.fileno())

    def compact(self):
        """Rewrite the log with one line per record (temp file + rename: never half-written)."""
        with atomic_write(self.path) as f:
            for rec in self.records.values():
                f.write(json.dumps(rec.to_dict(), ensure_ascii=False, sort_keys=True, default=str) + "\n")


def mean_ci(statistic, arrays, n_boot: int) -> tuple:
    """(low, high) of a 95 % bootstrap CI, through meta-eval's bootstrap so both share its guards
    (no CI from fewer than 5 values, or where resampling cannot give an honest one)."""
    if n_boot <= 0:
        return None, None
    est = bootstrap(statistic, arrays, resamples=n_boot)
    return est.ci_low, est.ci_high


def plain_mean_ci(values, n_boot: int, scale=None) -> tuple:
    """(low, high) of the 95 % CI of a plain mean: the report's interval (stats.mean_interval), which
    does not collapse at 0 or 1 as a percentile bootstrap does (40 of 40 right: [0.912, 1.000])."""
    if n_boot <= 0:
        return None, None
    est = mean_interval(np.asarray(values, dtype=float)[None, :], scale=scale)
    return est.ci_low, est.ci_high


def _score_scale(scorer, records):
    """The scorer's declared scale and type over these records (core/stats.ScoreScale); undeclared:
    continuous, unbounded."""
    declared = getattr(scorer, "score_scale", None)
    return declared(records) if declared else None


def aggregate_rows(records: list[SampleRecord], outputs: dict, n_boot: int = 1000) -> list[dict]:
    """One row per (model, suite, task, scorer output) plus task "__all__" per suite.

    outputs: output name -> Scorer (for direction, scale and how a group's value is computed:
    a mean of per-sample values, or the scorer's own corpus statistic), CI by bootstrap over samples.
    """
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        if rec.suite.startswith(LM_EVAL_PREFIX):
            continue  # the harness's rows are its own numbers (harness/run.py), not re-aggregated here
        for task in (rec.task, "__all__"):
            groups.setdefault((rec.model, rec.adapter_path, rec.suite, task), []).append(rec)
    rows = []
    for (model, adapter, suite, task), recs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        lengths = _length_limit(recs)
        for name, scorer in outputs.items():
            failed = sum(1 for r in recs if name in r.failed)
            scale = _score_scale(scorer, recs)  # by the records' task: a record list's item F1 is continuous
            corpus = scorer.corpus_statistic(recs)
            if corpus is not None:
                statistic, arrays = corpus
                if not len(arrays[0]):
                    continue
                mean = statistic(*(np.asarray(a, dtype=float) for a in arrays))
                lo, hi = mean_ci(statistic, arrays, n_boot)
                n = len(arrays[0])
            else:
                pooled = scorer.pooled_values(recs)
                vals = pooled if pooled is not None else [r.scores.get(name) for r in recs]
                vals = [v for v in vals if v is not None]
                if not vals and not failed:
                    continue  # the scorer does not apply to this task
                mean = scorer.aggregate(vals) if vals else float("nan")
                lo, hi = plain_mean_ci(vals, n_boot, scale) if pooled is None else mean_ci(
                    lambda v: float(v.mean()), [vals], n_boot)
                n = len(vals)
            rows.append(
                {
                    "model": model,
                    "adapter_path": adapter,
                    "suite": suite,
                    "task": task,
                    "scorer": name,
                    "n": n,
                    "mean": _clean(mean),
                    "ci_low": _clean(lo),
                    "ci_high": _clean(hi),
                    "higher_is_better": scorer.higher_is_better,
                    "scale": [_clean(scorer.scale[0]), _clean(scorer.scale[1])],
                    "values": scale.kind if scale is not None else getattr(scorer, "values", None),
                    "aggregation": scorer.aggregation,
                    "n_failed": failed,
                    **lengths,
                    "provenance": provenance_line(),
                }
            )
    return rows


def _length_limit(recs) -> dict:
    known = [r for r in recs if r.truncated is not None]
    limits = {r.max_new_tokens for r in known if r.max_new_tokens}
    return {
        "n_answers": len(recs),
        "n_truncated": sum(bool(r.truncated) for r in known) if known else None,
        "max_new_tokens": max(limits) if limits else None,
    }


def _clean(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def write_results(out_dir, rows: list[dict]) -> None:
    out_dir = Path(out_dir)
    with atomic_write(out_dir / RESULTS) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    import pandas as pd

    df = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    with atomic_write(out_dir / RESULTS_PARQUET, "wb") as f:
        df.to_parquet(f, index=False)


def read_results(out_dir) -> list[dict]:
    path = Path(out_dir) / RESULTS
    return [d for _, d in iter_jsonl(path)] if path.is_file() else []


def empty_scorers(rows: list[dict]) -> list[tuple]:
    """(scorer, answers it failed on) for every scorer that scored none of its answers in any
    suite-level row, e.g. a judge whose replies never matched its prompt's verdict format."""
    got: dict = {}
    for r in rows:
        if r.get("task") == "__all__":
            n, f = got.get(r["scorer"], (0, 0))
            got[r["scorer"]] = (n + int(r.get("n") or 0), f + int(r.get("n_failed") or 0))
    return [(s, f) for s, (n, f) in got.items() if n == 0 and f > 0]


def empty_scorer_warning(scorer: str, failed: int) -> str:
    return (f"scorer `{scorer}` scored 0 of {failed} answers (every one unparseable or failed): its scores are "
            "missing, not zero")
