"""Size limits of the house over all of iftkit/: files <= 400 lines, functions <= 60 lines and <= 7 parameters
(self and cls not counted), so every module and call reads in one screen or two."""

import ast
from pathlib import Path

import iftkit

ROOT = Path(iftkit.__file__).parent
MAX_FILE_LINES, MAX_FUNCTION_LINES, MAX_PARAMETERS = 400, 60, 7


def _files():
    return sorted(ROOT.rglob("*.py"))


def _parameters(fn) -> int:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs] + [x.arg for x in (a.vararg, a.kwarg) if x]
    return len([n for n in names if n not in ("self", "cls")])


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_file_is_over_the_line_limit():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in _files() if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, f"files over {MAX_FILE_LINES} lines:\n" + "\n".join(long)


def test_no_function_is_over_the_line_or_parameter_limit():
    over = []
    for path in _files():
        for fn in _functions(path):
            lines, params = fn.end_lineno - fn.lineno + 1, _parameters(fn)
            if lines > MAX_FUNCTION_LINES or params > MAX_PARAMETERS:
                over.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}: {lines} lines, {params} parameters")
    assert not over, "functions over the limits:\n" + "\n".join(over)


def test_the_counts_see_a_long_function_and_a_wide_one(tmp_path):
    # the detector itself
    src = tmp_path / "m.py"
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    src.write_text(f"def long():\n{body}\n\ndef wide(self, a, b, c, d, e, f, g, *h):\n    pass\n")
    found = {fn.name: (fn.end_lineno - fn.lineno + 1, _parameters(fn)) for fn in _functions(src)}
    assert found == {"long": (MAX_FUNCTION_LINES + 1, 0), "wide": (2, 8)}
