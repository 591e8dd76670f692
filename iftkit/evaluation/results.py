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

from iftkit.evaluation.suites import LM_EVAL_PREFIX
from iftkit.io.atomic import atomic_write
from iftkit.io.readers import iter_jsonl

SAMPLES = "samples.jsonl"
RESULTS = "results.jsonl"
RESULTS_PARQUET = "results.parquet"
RESULT_COLUMNS = ["model", "adapter_path", "suite", "task", "scorer", "n", "mean", "ci_low", "ci_high",
                  "higher_is_better", "scale", "n_failed",
                  # lm-eval rows only (None elsewhere): the harness's stderr and what produced the number
                  "stderr", "num_fewshot", "limit", "harness", "task_config_hash", "sentence_splitter"]


def record_key(rec: dict) -> tuple:
    return (rec["model"], rec["suite"], rec["task"], rec["sample_id"])


class SampleLog:
    def __init__(self, out_dir):
        self.path = Path(out_dir) / SAMPLES
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[tuple, dict] = {}
        self._load()

    def _load(self):
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        for line in data[:good_end].splitlines():
            if line.strip():
                try:
                    rec = json.loads(line)
                    self.records[record_key(rec)] = rec
                except (json.JSONDecodeError, KeyError):
                    continue  # a damaged line is recomputed, never trusted
        if good_end < len(data):  # torn last line: cut it so appends start on a fresh line
            with open(self.path, "r+b") as f:
                f.truncate(good_end)

    def get(self, key):
        return self.records.get(key)

    def append(self, records: list[dict]):
        if not records:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True, default=str) + "\n")
                self.records[record_key(rec)] = rec
            f.flush()
            os.fsync(f.fileno())

    def compact(self):
        """Rewrite the log with one line per record (temp file + rename: never half-written)."""
        with atomic_write(self.path) as f:
            for rec in self.records.values():
                f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def bootstrap_ci(values, n_boot: int = 1000, seed: int = 0, stat=np.mean, alpha: float = 0.05):
    vals = np.asarray(values, dtype=float)
    if len(vals) == 0:
        return float("nan"), float("nan")
    if len(vals) == 1 or n_boot == 0:
        v = float(stat(vals))
        return v, v
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(vals), size=(n_boot, len(vals)))
    boots = np.array([stat(vals[i]) for i in idx]) if stat is not np.mean else vals[idx].mean(axis=1)
    return float(np.quantile(boots, alpha / 2)), float(np.quantile(boots, 1 - alpha / 2))


def _ratio_of_means(pairs):
    pairs = np.asarray(pairs, dtype=float)
    den = pairs[:, 1].mean()
    return pairs[:, 0].mean() / den if den else float("nan")


def aggregate_rows(records: list[dict], outputs: dict, n_boot: int = 1000) -> list[dict]:
    """One row per (model, suite, task, scorer output) plus task "__all__" per suite.

    outputs: output name -> Scorer (for direction and scale). judge_ratio is the ratio of
    mean candidate score to mean reference score (the paper's figure), CI by paired bootstrap.
    """
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        if rec["suite"].startswith(LM_EVAL_PREFIX):
            continue  # the harness's rows are its own numbers (harness/run.py), not re-aggregated here
        for task in (rec["task"], "__all__"):
            groups.setdefault((rec["model"], rec["adapter_path"], rec["suite"], task), []).append(rec)
    rows = []
    for (model, adapter, suite, task), recs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        for name, scorer in outputs.items():
            failed = sum(1 for r in recs if name in (r.get("failed") or []))
            if name == "judge_ratio":
                pairs = [(r["scores"].get("judge"), r["scores"].get("judge_reference")) for r in recs]
                pairs = [p for p in pairs if p[0] is not None and p[1] is not None]
                if not pairs:
                    continue
                mean = _ratio_of_means(pairs)
                lo, hi = bootstrap_ci(np.arange(len(pairs)), n_boot, stat=lambda i: _ratio_of_means(np.asarray(pairs)[i.astype(int)]))
                n = len(pairs)
            else:
                pooled = scorer.pooled_values(recs)
                vals = pooled if pooled is not None else [r["scores"].get(name) for r in recs]
                vals = [v for v in vals if v is not None]
                if not vals and not failed:
                    continue  # the scorer does not apply to this task
                mean = scorer.aggregate(vals) if vals else float("nan")
                lo, hi = bootstrap_ci(vals, n_boot)
                n = len(vals)
            rows.append({
                "model": model, "adapter_path": adapter, "suite": suite, "task": task, "scorer": name, "n": n,
                "mean": _clean(mean), "ci_low": _clean(lo), "ci_high": _clean(hi),
                "higher_is_better": scorer.higher_is_better, "scale": [_clean(scorer.scale[0]), _clean(scorer.scale[1])],
                "n_failed": failed,
            })
    return rows


def _clean(x):
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
