"""`iftkit sweep --target-file FILE`: the quickstart's ratio sweep on the user's own task.

Writes a recipe that includes the quickstart sweep and points `data` at the user's file (with
their column and label mappings), sized to the rows the file has, then runs it like any sweep
recipe: rerunning the same command resumes, and the written recipe can be edited and rerun
with `iftkit sweep --config`.
"""

import re
from pathlib import Path
from typing import Optional

import yaml

from iftkit.errors import IftkitError

# the quickstart sweep's settings, flattened into the package (works without a checkout)
QUICKSTART_SWEEP = "quickstart_sweep.yaml"
# below this many training rows at ratio 1.0, a ratio sweep says little
MIN_MIX_ROWS = 40


def parse_pairs(text: Optional[str], flag: str) -> dict:
    """'prompt=sentence,completion=label' -> {'prompt': 'sentence', 'completion': 'label'}."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise IftkitError(f"{flag}: expected KEY=VALUE pairs separated by commas, got {part!r} in {text!r}")
        out[key.strip()] = value.strip()
    return out


def task_name_for(path: Path, name: Optional[str]) -> str:
    n = name or re.sub(r"[^A-Za-z0-9_]+", "_", path.stem).strip("_").lower()
    if not n:
        raise IftkitError(f"--target-name: cannot make a task name from {path.name!r}; give --target-name")
    return n


def write_own_task_recipe(target_file: str, name: Optional[str], columns: Optional[str], labels: Optional[str],
                          template: Optional[str], base_config: Optional[str], out_dir: str = "runs") -> Path:
    """Write runs/<name>-sweep/recipe.yaml for the user's file and return its path."""
    from iftkit.config import validate
    from iftkit.config.loader import _read_with_includes

    path = Path(target_file).expanduser()
    if not path.is_file():
        raise IftkitError(f"--target-file: file not found: {path}")
    task = task_name_for(path, name)
    base = Path(base_config) if base_config else packaged_quickstart_sweep()
    data = {"target_task": task, "target_files": [str(path.resolve())]}
    cols = parse_pairs(columns, "--columns")
    if cols:
        data["columns"] = cols
    if template:
        data["prompt_template"] = template
    label_map = parse_pairs(labels, "--labels")
    if label_map:
        data["label_map"] = label_map
    # the whole held-out test set is scored: the quickstart's cap is for its synthetic task
    body = {"include": str(base.resolve()), "name": f"{task}-sweep", "data": data, "eval": {"in_domain_samples": None}}
    merged = _read_with_includes(base, ())
    recipe = validate(_deep_merge(merged, {k: v for k, v in body.items() if k != "include"}), str(base))
    total = fit_total_size(recipe)
    if total != recipe.mix.total_size:
        body["mix"] = {"total_size": total}
    root = Path(out_dir) / body["name"]
    out = root / "recipe.yaml"
    settings = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    text = (f"# Run: iftkit sweep --config {out}\n"
            f"# Written by `iftkit sweep --target-file {target_file}`: the quickstart ratio sweep on your task.\n"
            f"# Edit it (grid, seeds, scorers, data.target_kind...) and rerun the command above.\n"
            f"# {_SIGNATURE}{_digest(settings)}\n" + settings)
    if out.is_file() and out.read_text() != text and _edited(out.read_text()):
        raise IftkitError(f"{out} was edited (or names another file of the same name); run "
                          f"`iftkit sweep --config {out}`, or give --target-name to start a new sweep")
    from iftkit.io.atomic import write_text_atomic

    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)
    return out


_SIGNATURE = "settings-sha256: "


def _digest(settings: str) -> str:
    import hashlib

    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def _edited(text: str) -> bool:
    """Whether a recipe this command wrote was changed since (its settings no longer match its signature)."""
    lines = text.splitlines(keepends=True)
    sig = next((ln for ln in lines if ln.startswith(f"# {_SIGNATURE}")), None)
    settings = "".join(ln for ln in lines if not ln.startswith("#"))
    return sig is None or sig.strip().split(_SIGNATURE)[-1] != _digest(settings)


def packaged_quickstart_sweep() -> Path:
    from importlib import resources

    return Path(str(resources.files("iftkit.defaults").joinpath(QUICKSTART_SWEEP)))


def fit_total_size(recipe) -> int:
    """The mix size the ratio grid can fill: ratio 1.0 needs total_size target rows plus validation rows."""
    from iftkit.data.pools import _dedupe, _load_user, user_test_size

    d, m = recipe.data, recipe.mix
    rows, _ = _load_user(d.target_files, d.target_task, d, force_task=True)
    rows, _ = _dedupe(rows)
    pool = len(rows) - user_test_size(len(rows), d.target_test_size)
    total = min(m.total_size, pool - m.val_size)
    if total < MIN_MIX_ROWS:
        raise IftkitError(f"{d.target_files[0]}: {len(rows)} unique rows leave {pool} after the test set; a ratio "
                          f"sweep needs at least {MIN_MIX_ROWS + m.val_size} training + validation rows")
    return total


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
