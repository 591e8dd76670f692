"""`iftkit data build|show|synth|tasks`: build a mix, look at data, generate teacher data, list the catalog.

iftkit data build --config R [--out DIR] [--force] [--section.key value ...]   (alias: data mix)
iftkit data show PATH [-n 3] [--format F] [--on-bad-line skip] [--section.key value ...]
iftkit data synth --config R [--out FILE] [--n N] [--backend openai|local] [--base-url URL] ...
iftkit data tasks
"""

import json
from collections import Counter
from pathlib import Path

from iftkit import layouts
from iftkit.config import load_recipe, parse_overrides
from iftkit.core.errors import IftkitError
from iftkit.core.paths import safe_name
from iftkit.data.loaders import load_file
from iftkit.data.mix import build_mix, load_manifest, plan, target_summary
from iftkit.data.rows import read_rows
from iftkit.data.tasks import CATALOG
from iftkit.evaluation.answer_length import in_domain_limit
from iftkit.models.resolve import resolve_model
from iftkit.training.row_length import size_for_rows

ACCEPTS_OVERRIDES = True


def add_arguments(p):
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = sub.add_parser("build", aliases=["mix"], help="build the recipe's train/val/test mix and manifest")
    b.add_argument("--config", required=True, help="recipe YAML")
    b.add_argument("--out", help="output folder (default runs/<recipe name>/mix)")
    b.add_argument("--force", action="store_true", help="rebuild even if an identical build is there")

    s = sub.add_parser("show", help="counts and a few samples of a mix folder, a rows/data file, or a recipe's mix")
    s.add_argument("path", help="mix folder, data file (JSONL/JSON/CSV/Parquet), or recipe YAML")
    s.add_argument("-n", type=int, default=3, help="samples to print")
    s.add_argument("--format", default="auto", help=f"layout of a data file: auto, or one of {layouts.help_text()}")
    s.add_argument("--on-bad-line", default="error", choices=["error", "skip"])

    y = sub.add_parser("synth", help="generate instruction data with a teacher model (self-instruct)")
    y.add_argument("--config", help="recipe YAML (its data.synth section); flags below override it")
    y.add_argument("--out", help="output JSONL of rows (default runs/synth/<task>.jsonl)")
    y.add_argument("--n", type=int, help="rows to accept")
    y.add_argument("--backend", help="data.synth.backend: openai, local, or another registered chat backend")
    y.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    y.add_argument("--model", help="served model name (openai) or model id/path (local)")
    y.add_argument("--api-key-env", help="environment variable that holds the API key")
    y.add_argument("--seeds", help="seed pool file (default: the packaged pool)")
    y.add_argument("--task", help="task name of the generated rows")
    y.add_argument("--cache-dir", help="teacher-call cache (default ~/.cache/iftkit/teacher)")

    sub.add_parser("tasks", help="list the task catalog")


def run(args) -> int:
    action = {"mix": "build"}.get(args.action, args.action)
    return {"build": _build, "show": _show, "synth": _synth, "tasks": _tasks}[action](args)


def _build(args) -> int:
    recipe = load_recipe(args.config, args.overrides)
    out = Path(args.out or Path("runs") / safe_name(recipe.name) / "mix")
    build_mix(recipe, out, force=args.force)
    m = load_manifest(out)
    _print_manifest(out, m)
    print(_answer_limit_line(recipe, out, m))
    print(_max_length_line(recipe, out))
    return 0


def _max_length_line(recipe, out: Path) -> str:
    """training.max_length against this mix's training rows in the model's tokens. The recipe is the user's
    file: a limit that cuts rows is a warning with the value that fits, never a silent change."""
    where = "set in the recipe" if "max_length" in recipe.training.model_fields_set else "iftkit's default"
    return size_for_rows(read_rows(out / "train.jsonl"), recipe.model, recipe.training.max_length, where).line


def _answer_limit_line(recipe, out: Path, m: dict) -> str:
    """The in-domain generation limit eval will use for this test set, and where it comes from."""
    test = out / "test" / f"{m['target_task']}.jsonl"
    try:
        path = resolve_model(recipe.model.id, recipe.model.revision)
    except IftkitError as exc:
        return f"in_domain answers: sized to the gold answers at eval time (the model's tokenizer is not here: {exc})"
    return in_domain_limit(recipe.eval, read_rows(test), path, bool(recipe.model.trust_remote_code)).line()


def _print_manifest(out: Path, m: dict) -> None:
    c = m["counts"]
    amount = f"ratio {m['target_ratio']}" if m["mode"] == "ratio" else f"n = {m['target_count']}"
    print(
        f"mix: {out}  (target {m['target_task']}, {amount}, target share {m['target_share']:.3f}, "
        f"seed {m['seed']}, build {m['build_hash']})"
    )
    print(f"train {c['train']}  by role {_fmt(c['train_by_role'])}  by source {_fmt(c['train_by_source'])}")
    print(f"val   {c['val']}  by role {_fmt(c['val_by_role'])}")
    print(f"test  {sum(c['test'].values())} rows in {len(c['test'])} fixed test sets: {_fmt(c['test'])}")
    print(f"train by task: {_fmt(c['train_by_task'])}")
    for f, info in (m.get("user_files") or {}).items():
        skipped = f", {info['skipped']} bad line(s) skipped" if info["skipped"] else ""
        print(f"user file {f}: {info['rows']} rows ({info['schema']}){skipped}")
    for line in target_summary(m):
        print(line)


def _fmt(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items())


def _show_rows(rows, n: int) -> None:
    print(f"{len(rows)} rows; by task: {_fmt(dict(sorted(Counter(r.task for r in rows).items())))}")
    print(f"by category: {_fmt(dict(sorted(Counter(r.category for r in rows).items())))}")
    print(f"by source: {_fmt(dict(sorted(Counter(r.source for r in rows).items())))}")
    for r in rows[:n]:
        print(f"\n--- [{r.task} / {r.category} / {r.source}]")
        for msg in r.prompt:
            print(f"{msg['role']}: {msg['content']}")
        print(f"completion: {r.completion}")


def _show(args) -> int:
    path = Path(args.path)
    if path.is_dir():
        _print_manifest(path, load_manifest(path))
        print()
        _show_rows(read_rows(path / "train.jsonl"), args.n)
        return 0
    if path.suffix in (".yaml", ".yml"):
        recipe = load_recipe(path, args.overrides)
        p = plan(recipe)
        info = p["info"]
        print(
            f"recipe {path}: target {info['target_task']} ({info['mode']}), "
            f"train {len(p['train'])} (target {info['target_rows']}, general {info['general_rows']}, "
            f"synthetic-format {info['synthetic_format_rows']}), val {len(p['val'])}, "
            f"test sets {len(p['test'])} x {recipe.mix.test_size_per_task}  (preview: nothing written)"
        )
        _show_rows(p["train"], args.n)
        return 0
    if args.overrides:
        raise IftkitError(f"recipe overrides apply to a recipe, not to the data file {path}")

    res = load_file(path, fmt=args.format, on_bad_line=args.on_bad_line)
    print(f"{path}: schema {res.schema}" + (f", {res.skipped} bad line(s) skipped" if res.skipped else ""))
    for note in res.skipped_lines:
        print(f"  skipped {note}")
    _show_rows(res.rows, args.n)
    return 0


def _synth(args) -> int:
    from iftkit.config import validate
    from iftkit.data.synth import synthesize
    from iftkit.data.teacher import make_teacher

    recipe = load_recipe(args.config, args.overrides) if args.config else validate(_overrides_only(args.overrides))
    flags = {
        "n": args.n,
        "backend": args.backend,
        "base_url": args.base_url,
        "model": args.model,
        "api_key_env": args.api_key_env,
        "seeds_file": args.seeds,
        "task": args.task,
        "cache_dir": args.cache_dir,
        "out": args.out,
    }
    cfg = recipe.data.synth.model_copy(update={k: v for k, v in flags.items() if v is not None})
    cfg = type(cfg).model_validate(cfg.model_dump())  # re-check ranges after the flags
    out = Path(cfg.out or Path("runs") / "synth" / f"{cfg.task}.jsonl")
    teacher = make_teacher(cfg, recipe.model)
    report = synthesize(cfg, teacher, out, progress=lambda msg: print(msg, flush=True))
    print(report.line())
    if teacher.stopped:
        raise IftkitError(
            f"teacher stopped: {teacher.stopped}; {report.failed_calls} calls failed; "
            "rerun the same command to resume (answers so far are cached)"
        )
    return 0 if report.accepted else 1


def _overrides_only(overrides) -> dict:
    return parse_overrides(list(overrides or []))


def _tasks(args) -> int:
    for name, task in CATALOG.items():
        ex = task.generate(1, seed=0)[0]
        print(f"{name:22s} {task.category:15s} {task.description}")
        print(f"{'':38s} strict: {task.answer_format}")
        print(f"{'':38s} tolerant: {task.tolerant_rule}")
        print(f"{'':38s} e.g. {json.dumps(ex.prompt[0]['content'])[:90]} -> {json.dumps(ex.completion)[:60]}")
    return 0
