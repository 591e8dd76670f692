"""Learning dynamics over the number of target samples n: format first, task later?

Input: a sweep's results (results.jsonl rows per the eval contract; n and seed come from the
adapter card next to each adapter, else from the model label, e.g. "sentiment-n100-s1"), or a
plain table with columns n, seed, task, scorer, mean[, source]. Format compliance is the
scorer that checks the exact format (scorers' EXACT_FORMAT role) when present, else this module's
own `format_ok` rate from the samples, else the strict task scorer (STRICT_ANSWER); task
performance is the task-answer scorer (TASK_ANSWER, the tolerant checker).
"""

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from iftkit.core.errors import IftkitError
from iftkit.core.readers import strict_records
from iftkit.data.tasks import task_spec
from iftkit.evaluation.records import read_samples
from iftkit.evaluation.scorers import EXACT_FORMAT, STRICT_ANSWER, TASK_ANSWER, playing
from iftkit.meta.samples import default_task_lookup

FORMAT_OK = "format_ok"  # this module's own format rate, from the samples (format_rows_from_samples)
SATURATION = 0.9  # a curve has "arrived" once it covers 90% of its rise


@dataclass
class Point:
    n: int
    seed: int
    source: str  # real | synthetic
    metric: str  # format | task
    value: float


def _label_int(label: str, keys) -> Optional[int]:
    for key in keys:
        m = re.search(rf"(?:^|[^a-z]){key}[=_-]?(\d+)", label.lower())
        if m:
            return int(m.group(1))
    return None


def _source(text: str) -> str:
    return "synthetic" if re.search(r"synth|teacher", text.lower()) else "real"


def _cell_from_results_row(row: dict, cards: dict) -> Optional[tuple]:
    label = str(row.get("model", ""))
    if label == "base":
        return 0, 0, "base"
    card = cards.get(row.get("adapter_path"))
    if card is None and row.get("adapter_path"):
        path = Path(row["adapter_path"]) / "adapter_card.json"
        card = json.loads(path.read_text()) if path.is_file() else {}
        cards[row["adapter_path"]] = card
    card = card or {}
    n = card.get("target_count")
    by_role = (card.get("data") or {}).get("counts", {}).get("train_by_role")
    if n is None and isinstance(by_role, dict):  # ratio sweeps: the count the mix actually holds
        n = int(by_role.get("target", 0))
    n = _label_int(label, ("n", "count")) if n is None else n
    if n is None:
        return None
    seed = card.get("seed")
    seed = (_label_int(label, ("seed", "s")) or 0) if seed is None else seed
    by_source = (card.get("data") or {}).get("counts", {}).get("train_by_source") or {}
    # synthetic = target rows from a teacher or the synthetic-format generator (Row.source)
    # the card's counts are the truth; a label is read only for results without a card
    src_text = " ".join(k for k in by_source if k.startswith(("synthetic", "teacher"))) if by_source else label
    return int(n), int(seed), _source(src_text)


def task_scorer() -> str:
    """The scorer whose values are the task curve: the task's checker, right answer in any format."""
    return playing(TASK_ANSWER)[0]


def points_from_rows(rows: list[dict], where: str = "table") -> list[Point]:
    """Rows are either results rows (model, suite, task, scorer, mean) or table rows (n, seed, ...)."""
    cards: dict = {}
    raw = defaultdict(dict)  # (n, seed, source) -> {scorer: [means over target tasks]}
    for i, row in enumerate(rows, 1):
        for key in ("scorer", "mean"):
            if key not in row:
                raise IftkitError(f"{where}: row {i} lacks '{key}' (expected results rows or n,seed,task,scorer,mean)")
        if row.get("task") == "__all__" or row.get("suite", "in_domain") != "in_domain" or row["mean"] in (None, ""):
            continue
        if "n" in row and "model" not in row:
            try:
                cell = (int(float(row["n"])), int(float(row.get("seed") or 0)), str(row.get("source") or "real"))
            except ValueError:
                raise IftkitError(f"{where}: row {i}: n and seed must be integers") from None
        else:
            cell = _cell_from_results_row(row, cards)
            if cell is None:
                continue
        raw[cell].setdefault(row["scorer"], []).append(float(row["mean"]))
    points = []
    format_scorers, task = (*playing(EXACT_FORMAT), FORMAT_OK, *playing(STRICT_ANSWER)), task_scorer()
    for (n, seed, source), by_scorer in raw.items():
        fmt = next((by_scorer[s] for s in format_scorers if s in by_scorer), None)
        if fmt is not None:
            points.append(Point(n, seed, source, "format", float(np.mean(fmt))))
        if task in by_scorer:
            points.append(Point(n, seed, source, "task", float(np.mean(by_scorer[task]))))
    if not points:
        raise IftkitError(f"{where}: no in-domain rows with n and a format/{task} score to chart")
    if len({p.n for p in points}) < 2:
        raise IftkitError(
            f"{where}: learning dynamics needs results at two or more values of n "
            f"(found only n={points[0].n}); run a sweep over mix.target_count or mix.target_ratio"
        )
    return points


def load_points(path) -> list[Point]:
    """Read a sweep dir (every results.jsonl under it) or a table file (.csv/.tsv/.jsonl/.json/.parquet)."""
    path = Path(path)
    files = sorted(path.rglob("results.jsonl")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise IftkitError(f"{path}: no results.jsonl under it and not a table file")
    rows = []
    for f in files:
        for where, d in strict_records(f):
            if not isinstance(d, dict):
                raise IftkitError(f"{where}: expected a table row (an object), got {type(d).__name__}")
            rows.append(d)
    if path.is_dir():
        rows.extend(format_rows_from_samples(path))
    return points_from_rows(rows, str(path))


def format_rows_from_samples(root: Path, task_lookup=None) -> list[dict]:
    """format_ok rate per (model, task) from in-domain samples, via the catalog's format checker,
    for sweeps whose eval did not run the task_format scorer."""
    lookup = task_lookup or default_task_lookup()
    groups = defaultdict(list)
    for path in sorted(root.rglob("samples.jsonl")):
        for rec in read_samples(path):
            in_domain = rec.suite == "in_domain" and rec.prediction is not None  # a failed generation is no 0
            task = lookup(rec.task, task_spec(rec.meta)) if in_domain else None
            if task is not None:
                groups[(rec.model, rec.adapter_path, rec.task)].append(1.0 if task.format_ok(rec.prediction) else 0.0)
    return [
        {
            "model": m,
            "adapter_path": a,
            "suite": "in_domain",
            "task": t,
            "scorer": FORMAT_OK,
            "mean": float(np.mean(v)),
        }
        for (m, a, t), v in groups.items()
    ]


def by_curve(items: list, key=lambda it: (it.n, it.source, it.metric)) -> dict:
    """{(source, metric): {n: [items]}}: which curve and n each item stands for.

    An n=0 item of real data (an adapter trained on no target rows) is the start of every curve
    that has no n=0 point of its own; synthetic n=0 items (only synthetic target-format rows)
    start the synthetic curve alone. The base model stands for n=0 only where no real n=0
    adapter exists (that adapter is the fairer reference: same training, no target data).
    Items are Points, or anything `key` maps to (n, source, metric)."""
    keyed = [(key(it), it) for it in items]
    sources = {src for (n, src, _), _ in keyed if n > 0 and src != "base"} or {"real"}
    zero_owners = {src for (n, src, _), _ in keyed if n == 0 and src != "base"}
    out = defaultdict(lambda: defaultdict(list))
    for (n, src, metric), it in keyed:
        if n > 0:
            targets = [src]
        elif src == "base":
            targets = [] if "real" in zero_owners else [s for s in sources if s not in zero_owners]
        elif src == "real":
            targets = ["real"] + [s for s in sources if s not in zero_owners]
        else:
            targets = [src]
        for t in targets:
            out[(t, metric)][n].append(it)
    return out


def curves(points: list[Point]) -> dict:
    """{(source, metric): (ns, means, stds)} over seeds (see by_curve for the n=0 points)."""
    out = {}
    for key, per_n in by_curve(points).items():
        ns = sorted(per_n)
        vals = [[p.value for p in per_n[n]] for n in ns]
        out[key] = (np.array(ns), np.array([np.mean(v) for v in vals]), np.array([np.std(v) for v in vals]))
    return out


def saturation_n(ns, ys, frac: float = SATURATION, min_rise: float = 0.05) -> Optional[int]:
    """Smallest n where the curve has covered `frac` of its rise; None if it never rises."""
    if len(ys) < 2:
        return None
    lo, hi = float(ys[0]), float(np.max(ys))
    if hi - lo < min_rise:
        return None
    target = lo + frac * (hi - lo)
    return int(ns[int(np.argmax(ys >= target))])


def boundaries(points: list[Point]) -> dict:
    """{source: {"format_saturates_at", "task_plateaus_at", "biphasic"}}."""
    cs = curves(points)
    out = {}
    for src in sorted({s for s, _ in cs}):
        f = cs.get((src, "format"))
        t = cs.get((src, "task"))
        nf = saturation_n(f[0], f[1]) if f else None
        nt = saturation_n(t[0], t[1]) if t else None
        out[src] = {
            "format_saturates_at": nf,
            "task_plateaus_at": nt,
            "biphasic": nf is not None and nt is not None and nf < nt,
            "largest_n": int(max(max(c[0]) for c in (f, t) if c is not None)),
        }
    return out


def describe(bounds: dict) -> list[str]:
    lines = []
    for src, b in bounds.items():
        nf, nt = b["format_saturates_at"], b["task_plateaus_at"]
        f = f"format saturates at n={nf}" if nf is not None else "format compliance does not rise"
        t = f"task performance plateaus at n={nt}" if nt is not None else "task performance does not rise"
        if nt is not None and nt == b.get("largest_n"):
            t += " (the largest n swept: still rising, no plateau inside the sweep)"
        verdict = "biphasic: format is learned before the task" if b["biphasic"] else "no biphasic pattern"
        lines.append(f"{src} target samples: {f}; {t} ({verdict})")
    real, synth = bounds.get("real", {}), bounds.get("synthetic", {})
    if real.get("format_saturates_at") and synth.get("format_saturates_at"):
        r, y = real["format_saturates_at"], synth["format_saturates_at"]
        faster = "fewer" if y < r else "more" if y > r else "as many"
        lines.append(
            f"real vs synthetic: synthetic target data needs {faster} samples to learn the format (n={y} vs n={r})"
        )
    return lines
