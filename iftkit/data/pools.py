"""Where the mix's pools come from, and the leak check every pool passes before mixing.

- catalog test sets: generated with a fixed test seed (never a recipe seed);
- catalog pools: generated from data.seed without any test instance (by semantic key);
- user files: loaded, de-duplicated by prompt, a fixed test set held out by a salted hash;
- synthetic target-format rows: from files or a catalog family, kept apart from real target rows.
"""

from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.data.rows import Row
from iftkit.data.tasks import get_task, is_catalog_task
from iftkit.data.tasks.base import seed_int

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


def _load_user(files, task: Optional[str], cfg, force_task: bool) -> tuple[list[Row], dict]:
    from iftkit.data.loaders import load_file
    from iftkit.layouts import ColumnMap

    # data.columns / prompt_template / label_map describe the user's task file(s) only: general
    # and synthetic-format files come in their own layouts
    mapping = ColumnMap.from_config(cfg) if list(files) == list(cfg.target_files) else None
    rows, report = [], {}
    for f in files:
        res = load_file(f, fmt=cfg.file_format, on_bad_line=cfg.on_bad_line, task=task, force_task=force_task,
                        mapping=mapping)
        rows.extend(res.rows)
        report[str(f)] = {"rows": len(res.rows), "skipped": res.skipped, "schema": res.schema, "sha256": res.sha256}
    return rows, report


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


def synthetic_format_pool(recipe, tests, target_pool, info) -> list[Row]:
    d, m = recipe.data, recipe.mix
    target = d.target_task
    if d.synthetic_format_files:
        rows, rep = _load_user(d.synthetic_format_files, target, d, force_task=True)
        info["user_files"].update(rep)
        rows, _ = _dedupe(rows)
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
