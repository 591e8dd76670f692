"""Every shell command the README and docs/ show must still be one a user can type.

Each fenced shell block is read line by line (continuations joined); for each command: the executable or
script exists, the iftkit subcommand and its flags parse with the real CLI parsers (nothing runs), every
dotted override names a recipe key, and every repository file it names exists. The recipe reference page
must be what the schema gives today, and a results page is generated with its stamp.
"""

import argparse
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from iftkit.cli import COMMANDS, build_parser
from iftkit.config.loader import override_pairs
from iftkit.core.errors import IftkitError

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(bash|sh|shell|console)\s*$")
# script shims that are an iftkit subcommand with the same flags
SHIMS = {"train/sft.py": "train", "eval/run.py": "eval", "eval/meta.py": "meta-eval", "scripts/sweep.py": "sweep"}
REPO_DIRS = ("recipes/", "scripts/", "iftkit/", "train/", "eval/", "tests/", "docs/")
# programs that are not iftkit's: their existence is the user's system's business
EXTERNAL = {"pip", "git", "head", "squeue", "sbatch", "scontrol", "sacct", "scancel", "wandb", "export", "cd", "cat",
            "ls", "time", "sudo", "nvidia-smi", "mkdocs", "ruff", "pytest"}
OPERATORS = {"&&", "||", ";", "|"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


recipe_reference = _load("recipe_reference")


def shell_commands(path: Path) -> list[tuple[int, str]]:
    """(line number, command line) of every fenced shell block, continuations and bash arrays joined."""
    out, block, start, pending = [], False, 0, ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            block = bool(FENCE.match(line)) and not block
            continue
        if not block:
            continue
        pending = f"{pending} {line.strip()}" if pending else line.strip()
        start = start or number
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        if "=(" in pending and ")" not in pending.split("=(", 1)[1]:
            continue
        if pending and not pending.startswith("#"):
            out.append((start, pending))
        pending, start = "", 0
    return out


def _strict(parser: argparse.ArgumentParser) -> None:
    """No abbreviations (a documented `--emit` must not pass because a renamed `--emit-to` starts with it),
    and errors raised, not printed with an exit, on this parser and every subparser under it."""
    parser.allow_abbrev = False
    parser.error = parser.exit = _raise
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _strict(sub)


def iftkit_problems(argv: list[str]) -> list[str]:
    """Parse an iftkit command line with the real parsers; dotted extras must name recipe keys."""
    command = next((a for a in argv if not a.startswith("-")), "")
    if command not in COMMANDS:
        return [f"no iftkit command {command!r} (commands: {', '.join(COMMANDS)})"]
    parser = build_parser(only=command)
    _strict(parser)
    try:
        args, extra = parser.parse_known_args(argv)
    except _ParseError as exc:
        return [f"iftkit {command}: {exc}"]
    module = importlib.import_module(f"iftkit.commands.{args._module}")
    actions = getattr(module, "ACTIONS", ())  # `iftkit sweep status`: the command's own action words
    for pos in (0, -1):
        if extra and extra[pos] in actions:
            extra.pop(pos)
            break
    if extra and not getattr(module, "ACCEPTS_OVERRIDES", False):
        return [f"iftkit {command}: unrecognized arguments {extra}"]
    try:
        pairs = override_pairs(extra)
    except IftkitError as exc:
        return [f"iftkit {command}: {exc}"]
    return [f"--{key}: {problem}" for key, _, _ in pairs if (problem := recipe_reference.key_problem(key))]


class _ParseError(Exception):
    pass


def _raise(message=None, *args, **kwargs):
    if isinstance(message, int):  # parser.exit(status, message)
        message = args[0] if args else f"exit {message}"
    raise _ParseError(str(message or "").strip())


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, re.M))


def file_problems(tokens: list[str]) -> list[str]:
    missing = []
    for token in tokens:
        path = token.split("=", 1)[-1]
        if path.startswith(REPO_DIRS) and not re.search(r"[<>{}*$]", path) and not (ROOT / path).exists():
            missing.append(f"no file {path} in the repository")
    return missing


def check_command(line: str) -> list[str]:
    """What is wrong with one documented command line (empty list: nothing)."""
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        return [f"cannot split {line!r}: {exc}"]
    problems, command = [], []
    for token in [*tokens, ";"]:
        if token in OPERATORS:
            problems += _check_one(command)
            command = []
        else:
            command.append(token)
    return problems


def _check_one(tokens: list[str]) -> list[str]:
    if tokens and re.match(r"^[A-Za-z_]\w*=\(", tokens[0]):
        return []  # a bash array of arguments: its values are checked where the array is used
    while tokens and re.match(r"^[A-Za-z_]\w*=", tokens[0]):  # VAR=value prefixes and assignments
        tokens = tokens[1:]
    tokens = [t for t in tokens if not t.startswith("$")]
    if not tokens:
        return []
    problems = file_problems(tokens)
    exe, rest = Path(tokens[0]).name, tokens[1:]
    if tokens[0].startswith(".venv/bin/") or exe in ("python", "python3", "iftkit", "accelerate", "make", "sh", "bash"):
        return problems + _check_program(exe, rest)
    if tokens[0].startswith(REPO_DIRS):
        return problems  # a repository script run directly: file_problems checked it
    if exe in EXTERNAL:
        return problems
    return problems + [f"unknown program {tokens[0]!r}"]


def _check_program(exe: str, rest: list[str]) -> list[str]:
    if exe == "iftkit":
        return iftkit_problems(rest)
    if exe == "make":
        unknown = [t for t in rest if not t.startswith("-") and "=" not in t and t not in make_targets()]
        return [f"no make target {t!r} in the Makefile" for t in unknown]
    if exe == "accelerate":
        if rest[:1] != ["launch"]:
            return [f"accelerate {rest[:1]}: only `accelerate launch` is documented"]
        script = next((i for i, t in enumerate(rest) if t.endswith(".py") or t == "-m"), None)
        return ["accelerate launch: no script"] if script is None else _check_program("python", rest[script:])
    if exe in ("sh", "bash"):
        return []  # the script's own path was checked as a repository file (runs/... ones are outputs)
    if exe.startswith("python"):
        if rest[:2] == ["-m", "iftkit"]:
            return iftkit_problems(rest[2:])
        if rest[:1] == ["-m"]:
            return []
        if rest and rest[0] in SHIMS:
            return iftkit_problems([SHIMS[rest[0]], *rest[1:]])
        return [] if rest and (ROOT / rest[0]).is_file() else [f"python: no script {rest[:1]}"]
    if exe in ("pip", "accelerate", "mkdocs", "ruff", "pytest", "wandb"):
        return []
    return [f"unknown program .venv/bin/{exe}"]


DOCUMENTED = [
    (f"{path.relative_to(ROOT)}:{number}", line) for path in DOC_FILES for number, line in shell_commands(path)
]


@pytest.mark.parametrize("where,line", DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_documented_command_is_real(where, line):
    assert check_command(line) == [], f"{where}: {line}"


def recipe_run_lines() -> list[tuple[str, str]]:
    """Each recipe opens with `# Run: COMMAND   (or: OTHER COMMAND)`: documented commands too."""
    out = []
    for path in sorted((ROOT / "recipes").rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        if first.startswith("# Run:"):
            for part in first.removeprefix("# Run:").split("(or:"):
                if not part.strip().startswith("("):  # "(included by ...; not run on its own)" is a note
                    out.append((str(path.relative_to(ROOT)), part.strip().removesuffix(")")))
    return out


@pytest.mark.parametrize("where,line", recipe_run_lines(), ids=[w for w, _ in recipe_run_lines()])
def test_recipe_run_line_is_real(where, line):
    assert check_command(line) == [], f"{where}: {line}"


def test_docs_have_commands_to_check():
    assert len(DOCUMENTED) > 40
    assert any("README.md" in where for where, _ in DOCUMENTED)


@pytest.mark.parametrize(
    "line,expected",
    [
        (".venv/bin/iftkit sweep --config recipes/sweeps/quickstart.yaml --emitt slurm", "--emitt"),
        (".venv/bin/iftkit sweep --config recipes/sweeps/quickstart.yaml --emi slurm", "--emi"),
        (".venv/bin/iftkit meta-eval --result runs/a --no-wandb", "--result"),
        (".venv/bin/iftkit data build --config recipes/quickstart.yaml --mix.target_ratioo 0.1", "target_ratioo"),
        (".venv/bin/python train/sft.py --config recipes/quickstart.yaml --training.max_stepz 3", "max_stepz"),
        (".venv/bin/iftkit recipe chek --config recipes/quickstart.yaml", "chek"),
        (".venv/bin/iftkit sweeps --config recipes/quickstart.yaml", "sweeps"),
        (".venv/bin/iftkit recipe check --config recipes/no_such.yaml", "recipes/no_such.yaml"),
        ("make quickstrat", "quickstrat"),
        (".venv/bin/python scripts/no_such.py", "no_such"),
        ("accelerate launch train/sft.py --config recipes/quickstart.yaml --bogus 1", "--bogus"),
        ("frobnicate --now", "frobnicate"),
    ],
)
def test_a_renamed_flag_or_missing_file_is_caught(line, expected):
    problems = check_command(line)
    assert problems and expected in " ".join(problems), problems


def test_good_commands_pass_the_same_checker():
    assert check_command("make test && make docs") == []
    assert check_command(".venv/bin/iftkit sweep status --config recipes/sweeps/quickstart.yaml") == []
    assert check_command(".venv/bin/iftkit recipe check --config recipes/quickstart.yaml --training.optim adamw_torch "
                         "--data.columns.completion label") == []


def test_repository_paths_in_prose_exist():
    """`recipes/x.yaml` in a sentence is a promise too: the file must be there."""
    named = [(path.name, m.group(1)) for path in DOC_FILES
             for m in re.finditer(r"`([^`\s]+)`", path.read_text(encoding="utf-8"))]
    missing = [(where, problem) for where, token in named for problem in file_problems([token.split(":")[0]])]
    assert missing == []


def test_recipe_reference_page_is_current():
    page = (ROOT / "docs" / "reference" / "recipe.md").read_text(encoding="utf-8")
    assert page == recipe_reference.render(), "docs/reference/recipe.md is stale: run make docs"
    for key in recipe_reference.recipe_keys():
        assert f"`{key}`" in page


def test_results_page_is_stamped_and_listed(tmp_path):
    results_page = _load("results_page")
    report = tmp_path / "report.md"
    report.write_text("# Sweep report: demo-sweep\n\n## Recommendation\n- S1: **ratio=0.1**\n", encoding="utf-8")
    out = tmp_path / "results"
    rc = results_page.main([str(report), "--commit", "abc1234", "--machine", "2-core test box", "--peak",
                            "bf16 400 GFLOP/s", "--date", "2026-12-07", "--out-dir", str(out)])
    page = (out / "2026-12-07-demo-sweep.md").read_text(encoding="utf-8")
    assert rc == 0
    assert "`abc1234`" in page and "2-core test box" in page and "bf16 400 GFLOP/s" in page
    assert "### Recommendation" in page and "**ratio=0.1**" in page
    assert "2026-12-07-demo-sweep.md" in (out / "index.md").read_text(encoding="utf-8")


def test_results_page_refuses_a_file_that_is_not_a_report(tmp_path, capsys):
    results_page = _load("results_page")
    bad = tmp_path / "notes.md"
    bad.write_text("some notes\n", encoding="utf-8")
    rc = results_page.main([str(bad), "--commit", "x", "--machine", "m", "--peak", "p", "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "notes.md" in err and "# Sweep report: NAME" in err
