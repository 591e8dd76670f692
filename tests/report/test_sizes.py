"""The report package stays readable in pieces: no file over 400 lines, no function over 60 lines or with more
than 7 parameters (issue 36's bar, held here for iftkit/report/ and the HTML page it writes)."""

import ast
from pathlib import Path

import iftkit

ROOT = Path(iftkit.__file__).parent
FILES = sorted((ROOT / "report").glob("*.py")) + [ROOT / "core" / "html.py"]


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            yield node.name, node.end_lineno - node.lineno + 1, len(a.posonlyargs + a.args + a.kwonlyargs)


def test_no_report_file_runs_past_400_lines():
    long = {p.name: n for p in FILES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_no_report_function_runs_past_60_lines_or_takes_more_than_7_parameters():
    over = [(p.name, name, lines, params) for p in FILES for name, lines, params in _functions(p)
            if lines > 60 or params > 7]
    assert not over, over
