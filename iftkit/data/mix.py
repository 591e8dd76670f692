"""Where the mix gets built: general pool + target pool -> train / val / test JSONL + manifest.

    from iftkit.data.mix import build_mix
    mix_dir = build_mix(recipe, "runs/exp/data")   # -> Path; manifest: load_manifest(mix_dir)

Layout written under out_dir:

    train.jsonl            the training mix (rows shuffled by mix.seed)
    val.jsonl              validation rows (target share = the mix's target share)
    test/<task>.jsonl      fixed test set of the target task and of every general catalog task
    manifest.json          counts per split/role/task/source, sha256 of every file, seeds, recipe

Guarantees (each has a test in tests/data/test_mix.py):
- Same data+mix settings -> byte-identical files; another mix.seed -> other rows, same counts.
- Nested: target rows are a prefix of one fixed permutation of the target pool (fixed by
  mix.seed), so the n=100 mix's target rows are a subset of the n=1000 mix's; by count the
  general rows are the same in every mix, by ratio they are a prefix of one permutation.
- Test sets depend only on the task, its difficulty and test_size_per_task (a fixed test
  seed), never on data.seed or mix.seed. Training pools are generated without the test
  instances (by semantic key), and every mix is checked against every test set by prompt and
  content hash before anything is written: a leak is an error, never silently dropped.
"""

import hashlib
import json
import random
import shutil
from collections import Counter
from pathlib import Path
from typing import Optional

from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError
from iftkit.core.readers import file_sha256
from iftkit.data.pools import (
    TEST_SEED,
    _dedupe,
    _keys,
    _load_user,
    _split_user_test,
    assert_disjoint,
    catalog_pool,
    catalog_test_set,
    synthetic_format_pool,
    user_test_size,
)
from iftkit.data.rows import Row, read_rows, write_rows
from iftkit.data.tasks import CATALOG, TaskSpec, infer_spec, is_catalog_task, task_names
from iftkit.data.tasks.base import seed_int
from iftkit.data.tasks.user import catalog_overlaps

# bump when generation or mixing changes what a recipe produces (invalidates reused mixes)
DATA_VERSION = 2
MANIFEST = "manifest.json"
__all__ = [
    "DATA_VERSION",
    "MANIFEST",
    "TEST_SEED",
    "assert_disjoint",
    "build_hash",
    "build_mix",
    "load_manifest",
    "load_split",
    "mix_test_tasks",
    "plan",
]


# --- the mix -------------------------------------------------------------------------------


def _stratified(rows: list[Row], rng: random.Random) -> list[Row]:
    """Shuffle within each task, then deal tasks round-robin in name order: any prefix stays
    balanced, and its per-task counts do not depend on the seed."""
    by_task: dict = {}
    for r in rows:
        by_task.setdefault(r.task, []).append(r)
    names = sorted(by_task)
    for n in names:
        rng.shuffle(by_task[n])
    out, i = [], 0
    while len(out) < len(rows):
        for n in names:
            if i < len(by_task[n]):
                out.append(by_task[n][i])
        i += 1
    return out


def _tag(rows, role):
    out = []
    for r in rows:
        meta = dict(r.meta)
        meta["role"] = role
        out.append(Row(r.prompt, r.completion, r.task, r.category, r.gold, r.source, meta))
    return out


def _counts(rows) -> dict:
    return {
        "total": len(rows),
        "by_role": dict(sorted(Counter(r.meta.get("role", "?") for r in rows).items())),
        "by_task": dict(sorted(Counter(r.task for r in rows).items())),
        "by_source": dict(sorted(Counter(r.source for r in rows).items())),
    }


def plan(recipe) -> dict:
    """Build every split in memory (no files): {'train', 'val', 'test': {task: rows}, 'info'}."""
    d, m = recipe.data, recipe.mix
    target = d.target_task
    info: dict = {
        "user_files": {},
        "dropped_duplicates": 0,
        "target_spec": None,
        "catalog_overlap": {},
        "excluded_general_tasks": [],
    }

    # target pool + its fixed test set
    if d.target_files:
        rows, rep = _load_user(d.target_files, target, d, force_task=True)
        info["user_files"].update(rep)
        rows, dropped = _dedupe(rows)
        info["dropped_duplicates"] += dropped
        spec = infer_spec(rows, d.target_kind, d.target_labels)
        info["target_spec"] = spec.to_dict()
        target_pool, target_test = _split_user_test(rows, user_test_size(len(rows), d.target_test_size), target)
        # the test rows carry their checker's spec, so eval and meta-eval score them the same way
        target_test = [
            Row(
                r.prompt,
                r.completion,
                r.task,
                r.category,
                r.gold,
                r.source,
                {**r.meta, "task_spec": info["target_spec"]},
            )
            for r in target_test
        ]
        info["catalog_overlap"] = catalog_overlaps(spec, [r.user_text() for r in target_pool], CATALOG)
    else:
        if not is_catalog_task(target):
            raise IftkitError(
                f"data.target_task {target!r} is not a catalog task ({', '.join(task_names())}); "
                f"give its rows with data.target_files"
            )
        target_test = catalog_test_set(target, m.test_size_per_task, d.difficulty)
        target_pool = catalog_pool(target, d.samples_per_task, d.difficulty, d.seed, _keys(target_test))
    tests = {target: target_test}

    # general task list: catalog families that already teach the user's task stay out of
    # "all", so ratio 0 really has no target-like rows (list them in data.general_tasks to keep them)
    if d.general_tasks == "all":
        general = [t for t in task_names() if t != target and t not in info["catalog_overlap"]]
        info["excluded_general_tasks"] = sorted(info["catalog_overlap"])
    else:
        general = list(d.general_tasks)
        for t in general:
            if not is_catalog_task(t):
                raise IftkitError(f"data.general_tasks: unknown task {t!r} (catalog tasks: {', '.join(task_names())})")
        if target in general:
            raise IftkitError(f"data.general_tasks must not include the target task {target!r}")

    # general pools + their fixed test sets
    general_pool = []
    for t in general:
        tests[t] = catalog_test_set(t, m.test_size_per_task, d.difficulty)
        general_pool += catalog_pool(t, d.samples_per_task, d.difficulty, d.seed, _keys(tests[t]))
    if d.general_files:
        rows, rep = _load_user(d.general_files, None, d, force_task=False)
        info["user_files"].update(rep)
        rows, dropped = _dedupe(rows)
        info["dropped_duplicates"] += dropped
        general_pool += rows
    if target_pool and general_pool:
        # a user's general file must not smuggle in target rows either
        t_prompts = {r.prompt_hash() for r in target_pool}
        clash = [r for r in general_pool if r.prompt_hash() in t_prompts]
        if clash:
            raise IftkitError(
                f"{len(clash)} general row(s) repeat target-pool prompts "
                f"(first: {clash[0].meta.get('origin') or clash[0].source})"
            )

    # synthetic target-format pool (kept apart from the real target rows)
    synth_pool = []
    if m.synthetic_format_count:
        synth_pool = synthetic_format_pool(recipe, tests, target_pool, info)

    # leak check on everything that could enter a training mix, before any selection
    assert_disjoint(general_pool, tests, "general rows")
    assert_disjoint(target_pool, tests, "target rows")
    assert_disjoint(synth_pool, tests, "synthetic target-format rows")

    # fixed orders (mix.seed only): prefixes give nested mixes
    target_order = list(target_pool)
    random.Random(seed_int("mix", m.seed, "target")).shuffle(target_order)
    synth_order = list(synth_pool)
    random.Random(seed_int("mix", m.seed, "synthetic")).shuffle(synth_order)
    general_order = _stratified(general_pool, random.Random(seed_int("mix", m.seed, "general")))
    n_val_g_reserved = min(m.val_size, max(0, len(general_order) // 5))
    general_val_region, general_order = general_order[:n_val_g_reserved], general_order[n_val_g_reserved:]

    n_s = m.synthetic_format_count
    if n_s > len(synth_order):
        raise IftkitError(
            f"mix.synthetic_format_count={n_s} but only {len(synth_order)} synthetic target-format rows exist"
        )
    if m.target_count is not None:
        mode, n_t, n_g = "count", m.target_count, len(general_order)
        if m.general_count is not None:
            if m.general_count > n_g:
                raise IftkitError(
                    f"mix.general_count={m.general_count} but the general pool has {n_g} rows "
                    f"(raise data.samples_per_task or lower mix.general_count)"
                )
            n_g = m.general_count
    else:
        mode = "ratio"
        n_t = int(round(m.target_ratio * m.total_size))
        n_g = m.total_size - n_t - n_s
        if n_g < 0:
            raise IftkitError(
                f"mix.total_size={m.total_size} is smaller than the {n_t} target + {n_s} "
                f"synthetic target-format rows asked for"
            )
        if n_g > len(general_order):
            raise IftkitError(
                f"mix by ratio needs {n_g} general rows but the general pool has "
                f"{len(general_order)} (raise data.samples_per_task or lower mix.total_size)"
            )
    total = n_t + n_g + n_s
    n_val_t = target_val_rows(n_t, n_g, n_s, m.val_size)
    if n_t + n_val_t > len(target_order):
        raise IftkitError(
            f"the target pool of {target!r} has {len(target_order)} rows: not enough for "
            f"{n_t} training + {n_val_t} validation rows (raise data.samples_per_task or "
            f"give more data.target_files)"
        )
    n_val_t = min(n_val_t, len(target_order) - n_t)
    n_val_g = min(m.val_size - n_val_t, len(general_val_region))

    train = (
        _tag(general_order[:n_g], "general")
        + _tag(target_order[:n_t], "target")
        + _tag(synth_order[:n_s], "synthetic_format")
    )
    random.Random(seed_int("mix", m.seed, "order")).shuffle(train)
    val = _tag(general_val_region[:n_val_g], "general") + _tag(target_order[len(target_order) - n_val_t :], "target")
    random.Random(seed_int("mix", m.seed, "val-order")).shuffle(val)
    tests = {t: _tag(rows, "test") for t, rows in tests.items()}

    assert_disjoint(train, tests, "training rows")
    assert_disjoint(val, tests, "validation rows")

    info.update(
        {
            "mode": mode,
            "target_task": target,
            "general_tasks": general,
            "target_rows": n_t,
            "general_rows": n_g,
            "synthetic_format_rows": n_s,
            "target_share": round(n_t / total, 6) if total else 0.0,
            "pool_sizes": {
                "target": len(target_pool),
                "general": len(general_pool),
                "synthetic_format": len(synth_pool),
                "general_by_task": dict(sorted(Counter(r.task for r in general_pool).items())),
            },
        }
    )
    return {"train": train, "val": val, "test": tests, "info": info}


def build_hash(recipe) -> str:
    """Identity of everything that decides the mix's bytes (data + mix sections, user file contents)."""
    from iftkit.data.loaders import file_sha256

    d = recipe.data.model_dump(mode="json")
    d.pop("synth", None)  # teacher settings do not change a built mix
    files = sorted(
        set(recipe.data.target_files)
        | set(recipe.data.general_files)
        | set(getattr(recipe.data, "synthetic_format_files", []) or [])
    )
    blob = json.dumps(
        {
            "v": DATA_VERSION,
            "data": d,
            "mix": recipe.mix.model_dump(mode="json"),
            "files": {f: file_sha256(f) for f in files},
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_mix(recipe, out_dir, force: bool = False) -> Path:
    """Write the recipe's mix under out_dir (manifest.json included) and return out_dir.

    Safe to call from every rank of a distributed launch: a file lock serialises builders, and
    an intact earlier build with the same build hash is reused (only its manifest is rewritten,
    so `recipe`/`recipe_hash` always name the recipe that asked last). A build that fails leaves
    nothing behind: the folders it created are removed (an earlier build there is kept as it was).
    """
    from filelock import FileLock

    from iftkit.config import recipe_hash

    out = Path(out_dir)
    created = _first_missing(out)
    lock = out / ".build.lock"
    lock_existed = lock.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock)):
            bh = build_hash(recipe)
            existing = None if force else _intact_manifest(out)
            if existing and existing.get("build_hash") == bh:
                manifest = existing
            else:
                manifest = _write_mix(recipe, out, bh)
            manifest["recipe_hash"] = recipe_hash(recipe)
            manifest["recipe_name"] = recipe.name
            manifest["recipe"] = recipe.model_dump(mode="json")
            write_json_atomic(out / MANIFEST, manifest, indent=2, ensure_ascii=False)
    except BaseException:
        _remove_created(out, created, lock if not lock_existed else None)
        raise
    return out


def _first_missing(path: Path) -> Optional[Path]:
    """The outermost folder of `path` that does not exist yet (None if path exists)."""
    missing = None
    for p in (path, *path.parents):
        if p.exists():
            return missing
        missing = p
    return missing


def _remove_created(out: Path, created: Optional[Path], new_lock: Optional[Path]) -> None:
    """Undo a failed build: out itself if this build created it, then each parent it created
    while that parent is empty (another job may have written next to us meanwhile)."""
    if created is None:
        if new_lock is not None:
            new_lock.unlink(missing_ok=True)
        return
    shutil.rmtree(out, ignore_errors=True)
    for parent in out.parents:
        if parent == created.parent:
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _write_mix(recipe, out: Path, bh: str) -> dict:
    p = plan(recipe)
    files = {
        "train.jsonl": write_rows(out / "train.jsonl", p["train"]),
        "val.jsonl": write_rows(out / "val.jsonl", p["val"]),
    }
    test_dir = out / "test"
    for stale in test_dir.glob("*.jsonl") if test_dir.is_dir() else ():
        if stale.stem not in p["test"]:
            stale.unlink()
    for task in sorted(p["test"]):
        files[f"test/{task}.jsonl"] = write_rows(test_dir / f"{task}.jsonl", p["test"][task])
    info = p["info"]
    train_counts, val_counts = _counts(p["train"]), _counts(p["val"])
    return {
        "iftkit_data_version": DATA_VERSION,
        "build_hash": bh,
        "recipe_hash": None,
        "recipe_name": recipe.name,
        "target_task": info["target_task"],
        "general_tasks": info["general_tasks"],
        "mode": info["mode"],
        "target_ratio": recipe.mix.target_ratio,
        "target_count": recipe.mix.target_count,
        "target_share": info["target_share"],
        "seed": recipe.mix.seed,
        "data_seed": recipe.data.seed,
        "test_seed": TEST_SEED,
        "difficulty": recipe.data.difficulty,
        "counts": {
            "train": train_counts["total"],
            "val": val_counts["total"],
            "test": {t: len(rows) for t, rows in sorted(p["test"].items())},
            "train_by_role": train_counts["by_role"],
            "train_by_task": train_counts["by_task"],
            "train_by_source": train_counts["by_source"],
            "val_by_role": val_counts["by_role"],
            "val_by_task": val_counts["by_task"],
        },
        "hashes": {
            "train": files["train.jsonl"],
            "val": files["val.jsonl"],
            "test": {t: files[f"test/{t}.jsonl"] for t in sorted(p["test"])},
        },
        "data_hash": hashlib.sha256((files["train.jsonl"] + files["val.jsonl"]).encode()).hexdigest()[:16],
        "pool_sizes": info["pool_sizes"],
        "target_spec": info["target_spec"],
        "catalog_overlap": info["catalog_overlap"],
        "excluded_general_tasks": info["excluded_general_tasks"],
        "user_files": info["user_files"],
        "dropped_duplicates": info["dropped_duplicates"],
        "files": dict(sorted(files.items())),
        "recipe": None,
    }


def _intact_manifest(out: Path) -> Optional[dict]:
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        for rel, sha in manifest["files"].items():
            if not (out / rel).is_file() or file_sha256(out / rel) != sha:
                return None
        return manifest
    except (ValueError, KeyError, TypeError):
        return None


def target_summary(m: dict) -> list[str]:
    """How a user task will be checked, its test set, and which catalog families were left out."""
    if not m.get("target_spec"):
        return []
    spec = TaskSpec.from_dict(m["target_spec"], "manifest target_spec")
    how = "set in the recipe" if spec.overridden else f"inferred: {spec.reason}; override with data.target_kind"
    lines = [
        f"target task {m['target_task']}: {spec.describe()} ({how})",
        f"target test set: {m['counts']['test'].get(m['target_task'], 0)} rows held out from the user file "
        f"(data.target_test_size)",
    ]
    for fam, why in sorted((m.get("catalog_overlap") or {}).items()):
        state = (
            "excluded from the general pool"
            if fam in (m.get("excluded_general_tasks") or [])
            else "kept (listed in data.general_tasks)"
        )
        lines.append(f"catalog family {fam} overlaps the target ({why}): {state}")
    return lines


def target_val_rows(n_target: int, n_general: int, n_synthetic: int, val_size: int) -> int:
    """Validation rows drawn from the target pool: the target share of the training mix, of val_size."""
    total = n_target + n_general + n_synthetic
    return int(round(val_size * ((n_target + n_synthetic) / total))) if total else 0


# --- reading a built mix (training and eval use these) --------------------------------------


def load_manifest(out_dir, required: bool = True) -> dict:
    """The mix's manifest; {} for a hand-made mix without one when not `required`."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        if not required:
            return {}
        raise IftkitError(f"no built mix at {out_dir} (missing {MANIFEST}); run `iftkit data build`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise IftkitError(f"{path}: corrupt manifest ({exc.msg})") from None


def load_split(out_dir, split: str) -> list[Row]:
    """'train', 'val', or 'test/<task>'."""
    return read_rows(Path(out_dir) / f"{split}.jsonl")


def mix_test_tasks(out_dir) -> list[str]:
    return sorted(p.stem for p in (Path(out_dir) / "test").glob("*.jsonl"))
