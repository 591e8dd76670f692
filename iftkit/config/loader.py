"""Read a recipe: YAML file(s) joined by `include:`, then dotted CLI overrides, then validation.

`include:` names one or more recipes (paths relative to the including file, or
`pkg://PACKAGE/FILE` for one shipped in an installed package, found through importlib.resources)
whose values are the base; the including file's values win, key by key. Every other file a recipe names
(data files, instruction sets, prompt files, a local `./model`) is relative to the recipe
file that names it, too; outputs (`training.output_dir`, `sweep.out_dir`, `tracking.dir`) and
paths given on the command line are relative to the working directory. Overrides like
`--mix.target_ratio 0.1` win over both. Values in overrides are parsed as YAML scalars, so
`0.1`, `true`, `[q_proj, v_proj]` and `null` have their natural types.
"""

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml
from pydantic import ValidationError

from iftkit.config.schema import Recipe, TrainingConfig, passthrough_problem
from iftkit.core.errors import IftkitError
from iftkit.core.readers import read_text

# Setting one of these keys in a later layer (an including recipe, or the command line)
# clears the other, so `--mix.target_count 100` works on a recipe that mixes by ratio.
EXCLUSIVE_KEYS = [("mix", "target_ratio", "target_count")]
# keys whose value is one design, replaced whole by an including recipe, never merged key by key (a count
# grid over a ratio grid would sweep both)
REPLACED_WHOLE = [("sweep", "grid")]

# input files a recipe may name, as (section path, key, shape); resolved against the recipe's folder
INPUT_PATHS = [
    (("data",), "target_files", "list"), (("data",), "general_files", "list"),
    (("data",), "synthetic_format_files", "list"), (("data", "synth"), "seeds_file", "one"),
    (("eval",), "instruction_set", "one"), (("eval",), "extra_suites", "dict"), (("eval",), "mix_dir", "one"),
    (("eval", "judge"), "prompt_file", "one"), (("eval", "judge"), "pairwise_prompt_file", "one"),
    (("eval", "judge"), "trust_set", "one"),
    (("eval",), "embedding_model", "local"), (("eval",), "reward_model", "local"), (("model",), "id", "local"),
    (("sweep",), "accelerate_config", "one"), (("eval", "lm_eval"), "task_dir", "one"),
]
# an include naming a recipe inside an installed package rather than a path
PACKAGE_SCHEME = "pkg://"
# values that are names, not files
_NOT_PATHS = {"builtin", "none", "base"}


def load_recipe(path, overrides: Optional[Iterable[str]] = None) -> Recipe:
    """Load, merge and validate a recipe. Raises IftkitError with a one-line message."""
    path = Path(path)
    return resolve(read_recipe_data(path), overrides, source=str(path))


def read_recipe_data(path) -> dict:
    """A recipe file's values with its includes merged in (not validated)."""
    return _read_with_includes(Path(path), stack=())


def resolve(data: dict, overrides: Optional[Iterable[str]] = None, source: str = "recipe") -> Recipe:
    """Dotted CLI overrides over recipe values, then validation: load_recipe for values already in memory."""
    if overrides:
        data = apply_overrides(data, parse_overrides(list(overrides)), source=source)
    return validate(data, source=source)


def validate(data: dict, source: str = "recipe") -> Recipe:
    _check_training_passthrough(data, source)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise IftkitError(_format_validation_error(exc, data, source)) from None


def _check_training_passthrough(data: dict, source: str) -> None:
    """Name a training key that is neither iftkit's nor SFTConfig's (the schema would name only the section)."""
    training = data.get("training") if isinstance(data, dict) else None
    extra = [k for k in (training or {}) if k not in TrainingConfig.model_fields] if isinstance(training, dict) else []
    for key in extra:
        problem = passthrough_problem(key)
        if problem:
            raise IftkitError(f"{source}: {problem}")


def recipe_hash(recipe: Recipe) -> str:
    """Stable hash of the fully resolved recipe (same values -> same hash)."""
    blob = json.dumps(recipe.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise IftkitError(f"recipe not found: {path}")
    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise IftkitError(f"{where}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise IftkitError(f"{path}: a recipe must be a mapping of sections, got {type(data).__name__}")
    return data


def _read_with_includes(path: Path, stack: tuple) -> dict:
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(str(p) for p in (*stack, resolved))
        raise IftkitError(f"{path}: include cycle: {chain}")
    data = _anchor_paths(_read_yaml(path), path.parent)
    includes = data.pop("include", None) or []
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise IftkitError(f"{path}: key 'include': expected a path or a list of paths, got {includes!r}")
    merged: dict = {}
    for inc in includes:
        merged = merge(merged, _read_with_includes(_include_path(inc, path), (*stack, resolved)))
    return merge(merged, data)


def package_include(package: str, name: str) -> str:
    """The `include:` value naming a recipe shipped inside an installed package."""
    return f"{PACKAGE_SCHEME}{package}/{name}"


def _include_path(inc: str, recipe: Path) -> Path:
    """A file `include:` names: pkg://PACKAGE/FILE in whichever install imports PACKAGE, else a path
    (relative to the including recipe)."""
    if inc.startswith(PACKAGE_SCHEME):
        package, _, name = inc[len(PACKAGE_SCHEME):].partition("/")
        try:
            found = Path(str(resources.files(package).joinpath(name)))
        except (ModuleNotFoundError, TypeError, ValueError):
            found = None
        if not name or found is None or not found.is_file():
            raise IftkitError(f"{recipe}: key 'include': no file {name!r} in package {package!r} ({inc}); "
                              f"expected {PACKAGE_SCHEME}PACKAGE/FILE of an installed package")
        return found
    inc_path = (recipe.parent / inc) if not Path(inc).is_absolute() else Path(inc)
    if not inc_path.is_file():
        raise IftkitError(f"{recipe}: key 'include': file not found: {inc_path}")
    return inc_path


def _anchor_paths(data: dict, folder: Path) -> dict:
    """Make the input paths a recipe file names absolute, relative to that file's folder."""
    def anchor(v, local_only=False):
        if not isinstance(v, str) or not v or v in _NOT_PATHS or v.startswith("hf:") or Path(v).is_absolute():
            return v
        if local_only and not v.startswith(("./", "../", "~")):
            return v  # a hub id such as org/name
        return str((folder / Path(v).expanduser()).resolve()) if not v.startswith("~") else str(Path(v).expanduser())

    for sections, key, shape in INPUT_PATHS:
        node = data
        for s in sections:
            node = node.get(s) if isinstance(node, dict) else None
        if not isinstance(node, dict) or key not in node:
            continue
        v = node[key]
        if shape == "list" and isinstance(v, list):
            node[key] = [anchor(x) for x in v]
        elif shape == "dict" and isinstance(v, dict):
            node[key] = {k: anchor(x) for k, x in v.items()}
        elif shape in ("one", "local"):
            node[key] = anchor(v, local_only=shape == "local")
    return data


def merge(base: dict, over: dict) -> dict:
    """`over`'s values win over `base`'s, key by key (see EXCLUSIVE_KEYS and REPLACED_WHOLE)."""
    out = copy.deepcopy(base)
    for section, a, b in EXCLUSIVE_KEYS:
        sub = over.get(section)
        if isinstance(sub, dict) and isinstance(out.get(section), dict):
            for key, other in ((a, b), (b, a)):
                if sub.get(key) is not None and other not in sub:
                    out[section].pop(other, None)
    for section, key in REPLACED_WHOLE:
        sub = over.get(section)
        if isinstance(sub, dict) and key in sub and isinstance(out.get(section), dict):
            out[section].pop(key, None)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def override_pairs(args: list[str]) -> list[tuple[str, list[str], str]]:
    """`['--mix.target_ratio', '0.1', '--lora.r=8']` -> [(dotted key, its arguments, raw value), ...]."""
    pairs = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise IftkitError(f"unexpected argument {arg!r}: overrides look like --section.key value")
        key = arg[2:]
        if "=" in key:
            key, raw = key.split("=", 1)
            taken = args[i : i + 1]
        else:
            if i + 1 >= len(args):
                raise IftkitError(f"override --{key} needs a value")
            raw = args[i + 1]
            taken = args[i : i + 2]
        i += len(taken)
        if "." not in key:
            raise IftkitError(f"override --{key}: expected a dotted key like --training.max_steps")
        pairs.append((key, taken, raw))
    return pairs


def parse_overrides(args: list[str]) -> dict:
    """`['--mix.target_ratio', '0.1', '--lora.r=8']` -> nested dict. Flags must be dotted."""
    result: dict = {}
    for key, _, raw in override_pairs(args):
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = result
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise IftkitError(f"override --{key} conflicts with another override")
        node[parts[-1]] = value
    return result


def apply_overrides(data: dict, overrides: dict, source: str = "recipe") -> dict:
    return merge(data, overrides)


def _format_validation_error(exc: ValidationError, data: dict, source: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = ".".join(str(p) for p in err["loc"][:-1])
        allowed = _allowed_keys(err["loc"][:-1])
        where = f"section '{parent}'" if parent else "top level"
        return f"{source}: unknown key '{loc}' ({where} allows: {', '.join(allowed)})"
    value = _lookup(data, err["loc"])
    msg = err["msg"]
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        if not loc:
            return f"{source}: {msg}"
    shown = "" if value is _MISSING else f" = {value!r}"
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return f"{source}: key '{loc}'{shown}: {msg}{more}"


_MISSING = object()


def _lookup(data: Any, loc) -> Any:
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def _allowed_keys(loc) -> list[str]:
    model = Recipe
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            model = ann
        else:
            return []
    return sorted(model.model_fields)
