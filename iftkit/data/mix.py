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
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from iftkit.config import recipe_hash
from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError
from iftkit.core.readers import file_sha256
from iftkit.data.pools import TEST_SEED, assert_disjoint, gather_pools
from iftkit.data.rows import Row, read_rows, write_rows
from iftkit.data.sizing import MixSizes, general_val_reserve, mix_sizes
from iftkit.data.tasks import TaskSpec
from iftkit.data.tasks.base import seed_int

# bump when generation or mixing changes what a recipe produces (invalidates reused mixes)
DATA_VERSION = 3  # 3: record lists pick their item_key by majority (a mix built before may hold another)
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
    m = recipe.mix
    pools = gather_pools(recipe)
    orders = _fixed_orders(pools, m)
    sizes = mix_sizes(m, recipe.data.target_task, len(orders.target), len(orders.general),
                      len(orders.general_val), len(orders.synthetic))
    train, val = _draw(orders, sizes, m.seed)
    tests = {t: _tag(rows, "test") for t, rows in pools.tests.items()}
    assert_disjoint(train, tests, "training rows")
    assert_disjoint(val, tests, "validation rows")
    return {"train": train, "val": val, "test": tests, "info": _plan_info(recipe.data.target_task, pools, sizes)}


@dataclass(frozen=True)
class _Orders:
    """Each pool in one fixed order (mix.seed only): a mix takes prefixes, so mixes nest."""

    target: list
    general: list  # after the validation reserve
    general_val: list  # the general rows reserved for validation
    synthetic: list


def _fixed_orders(pools, m) -> _Orders:
    target = list(pools.target)
    random.Random(seed_int("mix", m.seed, "target")).shuffle(target)
    synthetic = list(pools.synthetic)
    random.Random(seed_int("mix", m.seed, "synthetic")).shuffle(synthetic)
    general = _stratified(pools.general, random.Random(seed_int("mix", m.seed, "general")))
    reserve = general_val_reserve(m.val_size, len(general))
    return _Orders(target, general[reserve:], general[:reserve], synthetic)


def _draw(orders: _Orders, sizes: MixSizes, seed: int) -> tuple[list[Row], list[Row]]:
    """Training rows: prefixes of each order, shuffled together. Validation rows: the reserved general
    rows and the target order's tail (never a training row of any mix)."""
    train = (
        _tag(orders.general[: sizes.general], "general")
        + _tag(orders.target[: sizes.target], "target")
        + _tag(orders.synthetic[: sizes.synthetic], "synthetic_format")
    )
    random.Random(seed_int("mix", seed, "order")).shuffle(train)
    val = _tag(orders.general_val[: sizes.val_general], "general") + _tag(
        orders.target[len(orders.target) - sizes.val_target :], "target"
    )
    random.Random(seed_int("mix", seed, "val-order")).shuffle(val)
    return train, val


def _plan_info(target_task: str, pools, sizes: MixSizes) -> dict:
    return {
        **pools.info,
        "mode": sizes.mode,
        "target_task": target_task,
        "general_tasks": pools.general_tasks,
        "target_rows": sizes.target,
        "general_rows": sizes.general,
        "synthetic_format_rows": sizes.synthetic,
        "target_share": round(sizes.target / sizes.total, 6) if sizes.total else 0.0,
        "pool_sizes": {
            "target": len(pools.target),
            "general": len(pools.general),
            "synthetic_format": len(pools.synthetic),
            "general_by_task": dict(sorted(Counter(r.task for r in pools.general).items())),
        },
    }


def build_hash(recipe) -> str:
    """Identity of everything that decides the mix's bytes (data + mix sections, user file contents)."""
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
        "target_warnings": info["target_warnings"],
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
    lines = [
        spec_line(m["target_task"], spec),
        *(m.get("target_warnings") or []),  # a mix built before they were recorded has none
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


def spec_line(task: str, spec: TaskSpec) -> str:
    """How a user task is checked (kind, labels, item_key) and why, in one line."""
    how = "set in the recipe" if spec.overridden else f"inferred: {spec.reason}; override with data.target_kind"
    return f"target task {task}: {spec.describe()} ({how})"


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
