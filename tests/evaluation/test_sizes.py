"""The evaluation path reads in small pieces (issue 36): no file over 400 lines, no function over 60 lines or
with more than 7 parameters (self and cls not counted) in iftkit/evaluation and iftkit/models."""

import ast
from pathlib import Path

import iftkit

ROOT = Path(iftkit.__file__).parent
AREAS = ("evaluation", "models")
MAX_FILE_LINES, MAX_FUNCTION_LINES, MAX_PARAMS = 400, 60, 7


def _sources():
    for area in AREAS:
        yield from sorted((ROOT / area).rglob("*.py"))


def _params(fn) -> list[str]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs] + [x.arg for x in (a.vararg, a.kwarg) if x]
    return [n for n in names if n not in ("self", "cls")]


def _too_big(path: Path, base: Path = ROOT.parent) -> list[str]:
    src = path.read_text()
    where = path.relative_to(base)
    out = [f"{where}: {len(src.splitlines())} lines"] if len(src.splitlines()) > MAX_FILE_LINES else []
    for fn in ast.walk(ast.parse(src)):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = fn.end_lineno - fn.lineno + 1
            if lines > MAX_FUNCTION_LINES or len(_params(fn)) > MAX_PARAMS:
                out.append(f"{where}:{fn.lineno} {fn.name}: {lines} lines, {len(_params(fn))} parameters")
    return out


def test_the_measure_sees_a_long_function_and_a_wide_one(tmp_path):
    body = "\n".join(f"    x{k} = {k}" for k in range(MAX_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def long():\n{body}\n\n\ndef wide(self, a, b, c, d, e, f, g, h):\n    pass\n")
    found = _too_big(tmp_path / "m.py", tmp_path)
    assert [line.split(" ")[1] for line in found] == ["long:", "wide:"]


def test_no_file_function_or_parameter_list_over_the_limits():
    assert [line for path in _sources() for line in _too_big(path)] == []
