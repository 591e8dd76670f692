"""`iftkit sweep --target-file FILE`: the quickstart's ratio sweep on the user's own task.

The flags become an OwnTask; `prepare` sizes the sweep to the rows the file has and writes a
recipe that includes the quickstart sweep (shipped in the package, named by package reference so
the recipe runs from any folder and any install) and points `data` at the user's file with their
column and label mappings. The sweep then runs on that recipe like any other: rerunning the same
command resumes, and the written recipe can be edited and rerun with `iftkit sweep --config`.

A file too small for a ratio sweep (most files of a few dozen examples) gets a count sweep
instead: n = 0, 4, 8, 16, ... of its rows added to one fixed set of general rows, up to what
the file leaves after its test set. The paper's finding is that the first tens of target rows
matter most, which is what such a sweep measures.
"""

import hashlib
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Optional

import yaml

from iftkit.config.loader import merge, package_include, parse_overrides, read_recipe_data, resolve, validate
from iftkit.config.schema import Recipe
from iftkit.core.atomic import write_text_atomic
from iftkit.core.errors import IftkitError
from iftkit.core.paths import name_problem, safe_name
from iftkit.data.pools import gather_pools, user_rows, user_test_size
from iftkit.data.sizing import target_val_rows
from iftkit.training.row_length import rows_in_tokens, size_max_length, unchecked

# the quickstart sweep's settings, flattened into the package (works without a checkout)
QUICKSTART_SWEEP = "quickstart_sweep.yaml"
# below this many training rows at ratio 1.0, a ratio sweep says little: a count sweep runs instead
MIN_MIX_ROWS = 40
# the count sweep: target rows added to this many general rows (the same rows at every n), at these n
COUNT_GENERAL_ROWS = 128
COUNT_STEPS = (0, 4, 8, 16, 32, 64, 128, 256)
# a small file's test set shrinks (below the usual 30) rather than leave fewer training rows than this
MIN_COUNT_ROWS = 16
SMALL_TEST_MIN = 10


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
    """--target-name as given (any text but a path: it names runs/<name>-sweep), or one made from the file name."""
    if name is not None:
        problem = name_problem(name)
        if problem:
            raise IftkitError(f"--target-name {name!r}: {problem}")
        return name
    n = re.sub(r"[^A-Za-z0-9_]+", "_", path.stem).strip("_").lower()
    if not n:
        raise IftkitError(f"--target-name: cannot make a task name from {path.name!r}; give --target-name")
    return n


@dataclass(frozen=True)
class OwnTask:
    """The user's task as the `iftkit sweep --target-file` flags give it."""

    file: Path
    name: str
    columns: dict = field(default_factory=dict)  # role -> column (data.columns)
    labels: dict = field(default_factory=dict)  # raw label -> answer (data.label_map)
    template: Optional[str] = None  # data.prompt_template

    @classmethod
    def from_flags(cls, target_file: str, name: Optional[str] = None, columns: Optional[str] = None,
                   labels: Optional[str] = None, template: Optional[str] = None) -> "OwnTask":
        path = Path(target_file).expanduser()
        if not path.is_file():
            raise IftkitError(f"--target-file: file not found: {path}")
        return cls(path.resolve(), task_name_for(path, name), parse_pairs(columns, "--columns"),
                   parse_pairs(labels, "--labels"), template)

    def data_settings(self) -> dict:
        data = {"target_task": self.name, "target_files": [str(self.file)]}
        if self.columns:
            data["columns"] = dict(self.columns)
        if self.template:
            data["prompt_template"] = self.template
        if self.labels:
            data["label_map"] = dict(self.labels)
        return data


@dataclass(frozen=True)
class OwnTaskSweep:
    recipe: Recipe  # what `iftkit sweep --config path` with the same overrides loads
    path: Path  # the written recipe: rerun or edit it
    note: Optional[str] = None  # one line when the file got a count sweep instead of a ratio sweep
    max_length_line: Optional[str] = None  # "training.max_length: N (longest training row M tokens ...)"


@dataclass(frozen=True)
class FileFit:
    settings: dict  # recipe settings that size the sweep to the file
    note: Optional[str] = None


def prepare(task: OwnTask, base_config: Optional[str] = None, overrides=(), out_dir: str = "runs") -> OwnTaskSweep:
    """Write runs/<name>-sweep/recipe.yaml for the user's task and return the recipe it holds.

    The written recipe includes the base sweep (the quickstart sweep shipped in the package, by
    package reference, or base_config by path) and states only what this task changes."""
    base_path = Path(base_config) if base_config else packaged_quickstart_sweep()
    include = str(base_path.resolve()) if base_config else package_include("iftkit.defaults", QUICKSTART_SWEEP)
    base = read_recipe_data(base_path)
    # the whole held-out test set is scored: the quickstart's cap is for its synthetic task
    body = {"name": f"{task.name}-sweep", "data": task.data_settings(), "eval": {"in_domain_samples": None}}
    fit = fit_to_file(validate(merge(base, body), str(base_path)))
    body = merge(body, fit.settings)
    out = Path(out_dir) / safe_name(body["name"]) / "recipe.yaml"
    written = validate(merge(base, body), str(base_path)).training.max_length
    raised, line = size_training(resolve(merge(base, body), overrides, source=str(out)), written, overrides)
    if raised:
        body = merge(body, {"training": {"max_length": raised}})
    _write_recipe(out, {"include": include, **body}, task, fit)
    return OwnTaskSweep(resolve(merge(base, body), overrides, source=str(out)), out, fit.note, line)


def _write_recipe(out: Path, settings: dict, task: OwnTask, fit: FileFit) -> None:
    """Write the recipe with the command that runs it, unless the user edited the one already there."""
    body = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)
    kind = "a count sweep (the file is too small for a ratio sweep)" if fit.note else "the quickstart ratio sweep"
    text = (f"# Run: iftkit sweep --config {out}\n"
            f"# Written by `iftkit sweep --target-file {task.file}`: {kind} on your task.\n"
            f"# Edit it (grid, seeds, scorers, data.target_kind...) and rerun the command above.\n"
            f"# {_SIGNATURE}{_digest(body)}\n" + body)
    if out.is_file() and out.read_text() != text and _edited(out.read_text()):
        raise IftkitError(f"{out} was edited (or names another file of the same name); run "
                          f"`iftkit sweep --config {out}`, or give --target-name to start a new sweep")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)


_SIGNATURE = "settings-sha256: "


def _digest(settings: str) -> str:
    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def _edited(text: str) -> bool:
    """Whether a recipe this command wrote was changed since (its settings no longer match its signature)."""
    lines = text.splitlines(keepends=True)
    sig = next((ln for ln in lines if ln.startswith(f"# {_SIGNATURE}")), None)
    settings = "".join(ln for ln in lines if not ln.startswith("#"))
    return sig is None or sig.strip().split(_SIGNATURE)[-1] != _digest(settings)


def packaged_quickstart_sweep() -> Path:
    return Path(str(resources.files("iftkit.defaults").joinpath(QUICKSTART_SWEEP)))


def size_training(recipe, written: int, overrides=()) -> tuple[Optional[int], str]:
    """training.max_length sized to every row any cell of the sweep may train on (the target, general and
    synthetic pools), so that no answer is cut: (the value to write in the recipe, above the base sweep's
    `written`, or None; the line to print). A value given on the command line still wins, and rows
    longer than it are a warning."""
    pools = gather_pools(recipe)
    try:
        lengths, context = rows_in_tokens(pools.target + pools.general + pools.synthetic, recipe.model)
    except IftkitError as exc:
        return None, unchecked(recipe.training.max_length, exc).line
    sized = size_max_length(lengths, written, None, context)
    raised = sized.max_length if sized.raised else None
    if "max_length" not in (parse_overrides(list(overrides)).get("training") or {}):
        return raised, sized.line
    given = recipe.training.max_length
    return raised, size_max_length(lengths, given, "set by --training.max_length", context).line


def fit_to_file(recipe) -> FileFit:
    """Size the sweep to the user's rows: a ratio sweep whose ratio 1.0 fills total_size target rows plus
    validation rows, or, for a file too small for that, a count sweep over what its test set leaves."""
    d, m = recipe.data, recipe.mix
    n = len(user_rows(d.target_files, d.target_task, d, force_task=True).rows)
    test = user_test_size(n, d.target_test_size)
    total = min(m.total_size, n - test - m.val_size)
    if total >= MIN_MIX_ROWS:
        return FileFit({"mix": {"total_size": total}} if total != m.total_size else {})
    return count_sweep(n, test, bool(d.target_test_size), m.val_size, f"{d.target_files[0]}: {n} unique rows",
                       needed=f"{MIN_MIX_ROWS + m.val_size} training + validation rows after its {test}-row test set")


def count_sweep(n: int, test: int, test_set_by_user: bool, val_size: int, what: str, needed: str) -> FileFit:
    """n = 0, 4, 8, ... target rows on COUNT_GENERAL_ROWS general rows, up to the most the file allows."""
    if not test_set_by_user and n - test < MIN_COUNT_ROWS:
        test = max(SMALL_TEST_MIN, n // 2)  # a smaller test set (its CI width is printed) rather than no training
    most = _most_target_rows(n - test, val_size)
    if most < COUNT_STEPS[1]:
        raise IftkitError(f"{what}: too few for any sweep: {test} test rows leave {n - test}, and even a count sweep "
                          f"needs {COUNT_STEPS[1]} training rows plus their validation share")
    grid = [k for k in COUNT_STEPS if k < 0.8 * most] + [most]  # no step next to the last (16 then 17)
    half_width = 1.96 * math.sqrt(0.25 / test)
    note = (f"{what}: too few for a ratio sweep (it needs {needed}), so this is a count sweep instead: "
            f"n = {', '.join(map(str, grid))} of your rows added to the same {COUNT_GENERAL_ROWS} general rows; "
            f"{test} rows are the test set (a score's 95 % CI is up to about ±{half_width:.2f})")
    settings = {
        "data": {"target_test_size": test},
        "mix": {"target_ratio": None, "target_count": 0, "general_count": COUNT_GENERAL_ROWS},
        "sweep": {"grid": {"mix.target_count": grid}},
    }
    return FileFit(settings, note)


def _most_target_rows(left: int, val_size: int) -> int:
    """The largest n whose training rows and validation share fit in `left` rows."""
    fits = (k for k in range(left + 1) if k + target_val_rows(k, COUNT_GENERAL_ROWS, 0, val_size) <= left)
    return max(fits, default=0)
