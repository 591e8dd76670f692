"""Running the `iftkit` command line from tests, and what its errors must look like."""

import os
import subprocess
import sys


def run_iftkit(*args, pythonpath=None) -> subprocess.CompletedProcess:
    """`python -m iftkit ARGS` in a child process (text output captured), iftkit imported from `pythonpath`."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    return subprocess.run([sys.executable, "-m", "iftkit", *map(str, args)], capture_output=True, text=True, env=env)


def assert_one_line_error(proc: subprocess.CompletedProcess, line: str) -> None:
    """The command failed as a user error (exit 2) with exactly `line` on stderr: no traceback."""
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [line]
