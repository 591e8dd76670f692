"""The rows each suite evaluates.

in_domain: the target task's fixed test set. general: the fixed test sets of every other
catalog task in the mix: held-out rows, but of the families the general training pool is drawn
from ("trained-family general": it rewards keeping what the mix trained). held_out: the general
instruction set, which no training row comes from ("held-out general", like the lm-eval tasks of
eval.lm_eval). forgetting (opt-in): held-out prompts whose reference answers are scored by their
likelihood, never generated (forgetting.py). Extra suites: any rows files named in eval.extra_suites.
"""

from pathlib import Path
from typing import Optional

import yaml

from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.core.readers import read_text
from iftkit.data.loaders import load_file
from iftkit.data.mix import build_mix
from iftkit.data.rows import Row, read_rows
from iftkit.evaluation.forgetting import FORGETTING, forgetting_rows

BUILTIN_INSTRUCTIONS = "data/general_instructions.yaml"  # package data of iftkit.evaluation
HELD_OUT = "held_out"
BUILT_IN_SUITES = ("in_domain", "general", HELD_OUT, FORGETTING)
LM_EVAL_PREFIX = "lm_eval/"  # suite of each lm-eval task's rows: lm_eval/<task>
INSTRUCTION_TASK_PREFIX = "instruct_"


def load_instruction_set(path: Optional[str] = None) -> list[Row]:
    """The general instruction set as rows, task instruct_<category> (instruct_user without one).

    YAML: the project's own format (the built-in set, or a copy of it). Any other file is read
    like a user data file (JSONL/JSON/CSV/TSV/Parquet; alpaca, messages, ShareGPT, prompt-completion
    or iftkit rows)."""
    if not path:
        from importlib import resources

        with resources.as_file(resources.files("iftkit.evaluation").joinpath(BUILTIN_INSTRUCTIONS)) as builtin:
            return load_instruction_set(str(builtin))
    p = Path(path)
    if not p.is_file():
        raise IftkitError(f"eval.instruction_set: file not found: {p}")
    if p.suffix.lower() not in (".yaml", ".yml"):
        rows = load_file(p).rows
        return [
            Row(r.prompt, r.completion, INSTRUCTION_TASK_PREFIX + r.category, r.category, r.gold, r.source, r.meta)
            for r in rows
        ]
    try:
        items = yaml.safe_load(read_text(p)) or []
    except yaml.YAMLError as exc:
        raise IftkitError(f"{p}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(items, list):
        raise IftkitError(f"{p}: expected a list of items with keys category, prompt, reference")
    rows = []
    for i, it in enumerate(items):
        if not isinstance(it, dict) or not {"category", "prompt", "reference"} <= set(it):
            raise IftkitError(f"{p}: item {i + 1}: expected keys category, prompt, reference")
        if "constraints" in it:
            raise IftkitError(
                f"{p}: item {i + 1}: 'constraints' was replaced by IFEval's fields: instruction_id_list "
                f"(e.g. [punctuation:no_comma]) and kwargs (one dict per instruction); see README, Evaluate"
            )
        meta = {k: it[k] for k in ("instruction_id_list", "kwargs") if it.get(k)}
        rows.append(
            Row(
                prompt=[{"role": "user", "content": it["prompt"]}],
                completion=it["reference"],
                task=INSTRUCTION_TASK_PREFIX + it["category"],
                category=it["category"],
                gold=None,
                source=f"iftkit:{p.name}",
                meta=meta,
            )
        )
    return rows


def _cap_per(rows: list[Row], n: Optional[int], key) -> list[Row]:
    if n is None:
        return rows
    seen: dict = {}
    out = []
    for r in rows:
        k = key(r)
        if seen.get(k, 0) < n:
            seen[k] = seen.get(k, 0) + 1
            out.append(r)
    return out


def resolve_mix_dir(recipe: Recipe, cards: list[dict], out_dir: Path) -> Path:
    """eval.mix_dir, else a mix dir named in an adapter card that still exists, else build the recipe's mix."""
    if recipe.eval.mix_dir:
        p = Path(recipe.eval.mix_dir)
        if not (p / "test").is_dir():
            raise IftkitError(f"eval.mix_dir: {p} has no test/ folder (expected a mix built by `iftkit data mix`)")
        return p
    for card in cards:
        d = (card.get("data") or {}).get("mix_dir")
        if d and (Path(d) / "test").is_dir():
            return Path(d)
    return Path(build_mix(recipe, out_dir / "mix"))


def build_suites(recipe: Recipe, mix_dir: Optional[Path]) -> dict[str, list[Row]]:
    ev = recipe.eval
    target = recipe.data.target_task
    suites: dict[str, list[Row]] = {}
    test_dir = Path(mix_dir) / "test" if mix_dir else None
    if "in_domain" in ev.suites:
        f = test_dir / f"{target}.jsonl" if test_dir else None
        if f is None or not f.is_file():
            raise IftkitError(f"in_domain suite: no fixed test set for target task '{target}' (expected {f})")
        suites["in_domain"] = _cap_per(read_rows(f), ev.in_domain_samples, lambda r: r.task)
    if "general" in ev.suites:
        rows: list[Row] = []
        if test_dir is not None and test_dir.is_dir():
            for f in sorted(test_dir.glob("*.jsonl")):
                if f.stem != target:
                    rows += _cap_per(read_rows(f), ev.general_samples_per_task, lambda r: r.task)
        suites["general"] = rows
    if HELD_OUT in ev.suites and ev.instruction_set != "none":
        instr = load_instruction_set(None if ev.instruction_set == "builtin" else ev.instruction_set)
        suites[HELD_OUT] = _cap_per(instr, ev.instruction_samples_per_category, lambda r: r.category)
    if FORGETTING in ev.suites:
        suites[FORGETTING] = forgetting_rows(ev)
    for name, path in ev.extra_suites.items():
        if name in BUILT_IN_SUITES or name.startswith(LM_EVAL_PREFIX):
            raise IftkitError(f"eval.extra_suites: name '{name}' is reserved")
        suites[name] = read_rows(path)
    unknown = [s for s in ev.suites if s not in BUILT_IN_SUITES and s not in ev.extra_suites]
    if unknown:
        raise IftkitError(
            f"eval.suites: unknown suite(s) {unknown} (known: {', '.join(BUILT_IN_SUITES)}, "
            f"or a name in eval.extra_suites; lm-eval tasks go in eval.lm_eval.tasks)"
        )
    return suites
