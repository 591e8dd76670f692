"""Where the mix's pools come from, and the leak check every pool passes before mixing.

- catalog test sets: generated with a fixed test seed (never a recipe seed);
- catalog pools: generated from data.seed without any test instance (by semantic key);
- user files: loaded, de-duplicated by prompt, a fixed test set held out by a salted hash;
- synthetic target-format rows: from files or a catalog family, kept apart from real target rows.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.readers import file_sha256
from iftkit.data.loaders import load_file
from iftkit.data.rows import Row
from iftkit.data.tasks import CATALOG, get_task, infer_spec, is_catalog_task, list_tasks, shipped_tasks
from iftkit.data.tasks.base import seed_int
from iftkit.data.tasks.user import SpecCheck, TaskSpec, catalog_overlaps, check_spec
from iftkit.layouts import ColumnMap

# test sets use this seed whatever the recipe says, so every run scores on the same rows
TEST_SEED = "iftkit-test-v1"


def catalog_test_set(task: str, size: int, difficulty: int) -> list[Row]:
    """The fixed test set of a catalog task (independent of every recipe seed)."""
    return get_task(task).generate(size, seed=TEST_SEED, difficulty=difficulty)


def catalog_pool(task: str, size: int, difficulty: int, seed: int, exclude_keys, source="catalog",
                 stream: str = "pool") -> list[Row]:
    return get_task(task).generate(
        size, seed=f"{stream}:{seed}", difficulty=difficulty, exclude_keys=exclude_keys, source=source)


def _keys(rows) -> set:
    return {r.meta.get("key") for r in rows if r.meta.get("key")}


def _dedupe(rows: list[Row]) -> tuple[list[Row], int]:
    """Drop repeated prompts (keep the first): one prompt must not sit in two splits."""
    seen, out = set(), []
    for r in rows:
        h = r.prompt_hash()
        if h not in seen:
            seen.add(h)
            out.append(r)
    return out, len(rows) - len(out)


# a user task's test set: this share of its rows, within these bounds (data.target_test_size overrides)
USER_TEST_SHARE, USER_TEST_MIN, USER_TEST_MAX = 0.2, 30, 500


def user_test_size(n_rows: int, asked) -> int:
    return asked or min(USER_TEST_MAX, max(USER_TEST_MIN, round(USER_TEST_SHARE * n_rows)))


def _split_user_test(rows: list[Row], size: int, task: str) -> tuple[list[Row], list[Row]]:
    """Hold out a fixed test set from user rows: order by a salted content hash (no recipe seed)."""
    if len(rows) <= size:
        raise IftkitError(f"target task {task!r} has {len(rows)} unique rows: not enough for a test set of {size} "
                          f"(data.target_test_size) plus training rows")
    order = sorted(rows, key=lambda r: seed_int(TEST_SEED, task, r.content_hash()))
    test = order[:size]
    test_ids = {id(r) for r in test}
    return [r for r in rows if id(r) not in test_ids], test


@dataclass(frozen=True)
class UserRows:
    """A user's file(s), loaded and de-duplicated by prompt."""

    rows: tuple
    report: dict  # file -> {rows, skipped, schema, sha256}, for the manifest
    dropped: int  # repeated prompts dropped


# the files last loaded, by content and reading settings: sizing an own-task sweep and building each of
# its mixes in one process read the user's file once (target, general and synthetic-format files)
_loaded: dict = {}
_KEEP_LOADED = 3


def user_rows(files, task: Optional[str], cfg, force_task: bool) -> UserRows:
    """Load user files (data.file_format, data.on_bad_line) into rows, each prompt once.

    data.columns / prompt_template / label_map describe the user's task file(s) only: general and
    synthetic-format files come in their own layouts."""
    mapping = ColumnMap.from_config(cfg) if list(files) == list(cfg.target_files) else None
    key = _load_key(files, task, cfg, force_task, mapping)
    if key is not None and key in _loaded:
        return _loaded[key]
    rows, report = [], {}
    for f in files:
        res = load_file(f, fmt=cfg.file_format, on_bad_line=cfg.on_bad_line, task=task, force_task=force_task,
                        mapping=mapping)
        rows.extend(res.rows)
        report[str(f)] = {"rows": len(res.rows), "skipped": res.skipped, "schema": res.schema, "sha256": res.sha256}
    unique, dropped = _dedupe(rows)
    loaded = UserRows(tuple(unique), report, dropped)
    if key is not None:
        while len(_loaded) >= _KEEP_LOADED:
            _loaded.pop(next(iter(_loaded)))
        _loaded[key] = loaded
    return loaded


def _load_key(files, task, cfg, force_task, mapping) -> Optional[str]:
    """What decides the loaded rows; None (no reuse) unless every file is a local file."""
    if not all(isinstance(f, (str, Path)) and Path(f).is_file() for f in files):
        return None
    return json.dumps([[[str(f), file_sha256(f)] for f in files], task, force_task, cfg.file_format,
                       cfg.on_bad_line, asdict(mapping) if mapping else None], sort_keys=True)


# --- leak check ----------------------------------------------------------------------------

def assert_disjoint(train_rows, test_sets: dict, what: str = "training rows") -> None:
    """Raise IftkitError if any row shares its prompt, content or instance key with a test row."""
    index = {}
    for task, rows in test_sets.items():
        for r in rows:
            index[("p", r.prompt_hash())] = task
            index[("c", r.content_hash())] = task
            if r.meta.get("key"):
                index[("k", r.meta["key"])] = task
    leaks = []
    for r in train_rows:
        for probe in (("p", r.prompt_hash()), ("c", r.content_hash()), ("k", r.meta.get("key"))):
            if probe[1] and probe in index:
                leaks.append((r, index[probe]))
                break
    if leaks:
        r, task = leaks[0]
        where = r.meta.get("origin") or r.source
        raise IftkitError(
            f"test-set leak: {len(leaks)} of the {what} appear in the fixed test set of task {task!r} "
            f"(first: {where}, prompt {r.user_text()[:60]!r}); remove them from the training data")


def synthetic_format_pool(d, m, tests, target_pool, info) -> list[Row]:
    """The synthetic target-format rows (data.synthetic_format_files, else a catalog family), as target rows."""
    target = d.target_task
    if d.synthetic_format_files:
        loaded = user_rows(d.synthetic_format_files, target, d, force_task=True)
        info["user_files"].update(loaded.report)
        rows = loaded.rows
    else:
        family = d.synthetic_format_task or (target if is_catalog_task(target) else None)
        if family is None:
            raise IftkitError("mix.synthetic_format_count > 0 needs data.synthetic_format_files or "
                              "data.synthetic_format_task when the target is user data")
        exclude = _keys(target_pool) | {k for rows in tests.values() for k in _keys(rows)}
        rows = catalog_pool(family, max(m.synthetic_format_count, d.samples_per_task), d.difficulty, d.seed,
                            exclude, source="synthetic-format", stream="synthetic")
    target_prompts = {r.prompt_hash() for r in target_pool}
    out = []
    for r in rows:
        if r.prompt_hash() in target_prompts:
            continue
        out.append(Row(r.prompt, r.completion, target, r.category, r.gold, "synthetic-format",
                       {**r.meta, "origin_task": r.task}))
    return out


# --- every pool of one recipe ----------------------------------------------------------------


@dataclass
class Pools:
    """Everything that may enter the recipe's mix, before any selection, and the fixed test sets."""

    target: list
    general: list
    synthetic: list
    tests: dict  # task -> its fixed test rows, the target task first
    general_tasks: list
    info: dict  # user_files, dropped_duplicates, target_spec, target_warnings, catalog_overlap, excluded_general_tasks


def gather_pools(recipe) -> Pools:
    """The target, general and synthetic target-format pools and the test sets, leak-checked."""
    d, m = recipe.data, recipe.mix
    info: dict = {
        "user_files": {},
        "dropped_duplicates": 0,
        "target_spec": None,
        "target_warnings": [],
        "catalog_overlap": {},
        "excluded_general_tasks": [],
    }
    target, target_test = _target_pool(d, m, info)
    tests = {d.target_task: target_test}
    general_tasks = _general_tasks(d, info)
    general = _general_pool(d, m, general_tasks, tests, info)
    _refuse_target_prompts(target, general)
    synthetic = synthetic_format_pool(d, m, tests, target, info) if m.synthetic_format_count else []
    # leak check on everything that could enter a training mix, before any selection
    assert_disjoint(general, tests, "general rows")
    assert_disjoint(target, tests, "target rows")
    assert_disjoint(synthetic, tests, "synthetic target-format rows")
    return Pools(target, general, synthetic, tests, general_tasks, info)


def _target_pool(d, m, info) -> tuple[list[Row], list[Row]]:
    """The target task's training pool and its fixed test set: from the user's files, else the catalog."""
    target = d.target_task
    if not d.target_files:
        if not is_catalog_task(target):
            raise IftkitError(
                f"data.target_task {target!r} is not a catalog task ({', '.join(list_tasks())}); "
                f"give its rows with data.target_files"
            )
        test = catalog_test_set(target, m.test_size_per_task, d.difficulty)
        return catalog_pool(target, d.samples_per_task, d.difficulty, d.seed, _keys(test)), test
    t = target_rows(d)
    info["user_files"].update(t.loaded.report)
    info["dropped_duplicates"] += t.loaded.dropped
    info["target_spec"] = t.spec.to_dict()
    info["target_warnings"] = t.check.warnings(target_where(d))
    # the test rows carry their checker's spec, so eval and meta-eval score them the same way
    test = [
        Row(r.prompt, r.completion, r.task, r.category, r.gold, r.source, {**r.meta, "task_spec": info["target_spec"]})
        for r in t.test
    ]
    info["catalog_overlap"] = catalog_overlaps(t.spec, [r.user_text() for r in t.pool], CATALOG)
    return t.pool, test


@dataclass(frozen=True)
class TargetRows:
    """The user's target task as a mix gets it: its rows, their spec, the pool / test split, what the spec
    cannot score."""

    loaded: UserRows
    spec: TaskSpec
    pool: list
    test: list  # without the spec in their meta
    check: SpecCheck


def target_rows(d) -> TargetRows:
    """Load data.target_files (d: the recipe's data section) and decide how the task is checked (kind, labels,
    item_key), as every mix of the recipe does; cheap to repeat (the loaded rows are kept)."""
    loaded = user_rows(d.target_files, d.target_task, d, force_task=True)
    rows = list(loaded.rows)
    spec = infer_spec(rows, d.target_kind, d.target_labels)
    pool, test = _split_user_test(rows, user_test_size(len(rows), d.target_test_size), d.target_task)
    return TargetRows(loaded, spec, pool, test, check_spec(spec, pool, test))


def target_where(d) -> str:
    """The user's target file(s), as messages name them."""
    return ", ".join(map(str, d.target_files))


def _general_tasks(d, info) -> list[str]:
    """The catalog families of the general pool. Families that already teach the user's task stay out
    of "all", so ratio 0 really has no target-like rows (list them in data.general_tasks to keep them)."""
    target = d.target_task
    if d.general_tasks == "all":
        info["excluded_general_tasks"] = sorted(info["catalog_overlap"])
        return [t for t in shipped_tasks() if t != target and t not in info["catalog_overlap"]]
    general = list(d.general_tasks)
    for t in general:
        if not is_catalog_task(t):
            raise IftkitError(f"data.general_tasks: unknown task {t!r} (catalog tasks: {', '.join(list_tasks())})")
    if target in general:
        raise IftkitError(f"data.general_tasks must not include the target task {target!r}")
    return general


def _general_pool(d, m, general_tasks, tests, info) -> list[Row]:
    """Every general family's pool (its fixed test set added to `tests`), then the user's general files."""
    pool = []
    for t in general_tasks:
        tests[t] = catalog_test_set(t, m.test_size_per_task, d.difficulty)
        pool += catalog_pool(t, d.samples_per_task, d.difficulty, d.seed, _keys(tests[t]))
    if d.general_files:
        loaded = user_rows(d.general_files, None, d, force_task=False)
        info["user_files"].update(loaded.report)
        info["dropped_duplicates"] += loaded.dropped
        pool += loaded.rows
    return pool


def _refuse_target_prompts(target: list[Row], general: list[Row]) -> None:
    """A user's general file must not smuggle in target rows either."""
    if not (target and general):
        return
    t_prompts = {r.prompt_hash() for r in target}
    clash = [r for r in general if r.prompt_hash() in t_prompts]
    if clash:
        raise IftkitError(
            f"{len(clash)} general row(s) repeat target-pool prompts "
            f"(first: {clash[0].meta.get('origin') or clash[0].source})"
        )
