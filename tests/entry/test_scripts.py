"""The entry scripts (train/sft.py, eval/run.py, eval/meta.py, scripts/sweep.py) run from a checkout with iftkit
installed, without editing sys.path, and train/sft.py spells out the steps `iftkit train` runs."""

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iftkit.training import train_adapter

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ["train/sft.py", "eval/run.py", "eval/meta.py", "scripts/sweep.py"]


def _run(script, *args, env=None):
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True, cwd=ROOT,
                          env=env)


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_do_not_edit_sys_path(script):
    assert "sys.path" not in (ROOT / script).read_text()


@pytest.mark.parametrize("script, flags", [
    ("train/sft.py", ["--config", "--output_dir", "--mix-dir", "--overwrite"]),
    ("eval/run.py", ["--config", "--adapters", "--out", "--no-base", "--no-progress"]),
])
def test_script_help_runs_as_written(script, flags):
    # the package comes from PYTHONPATH (this checkout) or the venv's install, never from the script's sys.path
    proc = _run(script, "--help", env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(f"usage: {script}")
    assert all(f in proc.stdout for f in flags), proc.stdout


def test_script_without_iftkit_says_to_install_it(tmp_path):
    # an interpreter that cannot import iftkit: -I ignores PYTHONPATH and user site; -S drops the venv's site-packages
    proc = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "train/sft.py"), "--help"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "train/sft.py: error: iftkit is not installed; run `pip install -e .` in the repository root"
    ]


def test_script_user_error_is_one_line_with_exit_2(tmp_path):
    proc = _run("train/sft.py", "--config", str(tmp_path / "nope.yaml"), env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("train/sft.py: error: ")


def _calls(tree) -> list[str]:
    """Names of the functions and methods called, in the order they run (an argument's call before its caller's)."""
    out = []

    class Calls(ast.NodeVisitor):
        def visit_Call(self, node):
            self.generic_visit(node)
            f = node.func
            out.append(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))

    Calls().visit(tree)
    return out


def test_sft_script_runs_the_steps_of_train_adapter_in_its_order():
    """`iftkit train` (train_adapter) and train/sft.py call the same library steps, in the same order."""
    steps = ["open_adapter_run", "prepare_mix", "load_training_data", "resume", "load_base_for_training",
             "build_trainer", "train", "save_adapter"]
    library = [c for c in _calls(ast.parse(inspect.getsource(train_adapter.train_adapter))) if c in steps]
    script_main = next(n for n in ast.parse((ROOT / "train/sft.py").read_text()).body
                       if isinstance(n, ast.FunctionDef) and n.name == "main")
    script = [c for c in _calls(script_main) if c in steps]
    assert library == script == steps
