"""scripts/slurm_local.sh itself: lint-clean and refusing what it cannot do (runs without a cluster)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iftkit.testing.sweep_runs import ROOT

SCRIPT = ROOT / "scripts" / "slurm_local.sh"


def test_slurm_local_sh_passes_shellcheck():
    shellcheck = Path(sys.executable).parent / "shellcheck"
    lint = subprocess.run([str(shellcheck), str(SCRIPT)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_unknown_action_is_a_usage_line():
    proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip().endswith("usage: " + str(SCRIPT) + " up|status|down")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("slurmd") is None, reason="needs root and an installed slurmd")
def test_a_slurm_conf_it_did_not_write_is_left_alone(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=production\n")
    environ = {**os.environ, "SLURM_CONF": str(conf), "SLURM_LOCAL_DIR": str(tmp_path / "local")}
    proc = subprocess.run(["bash", str(SCRIPT), "up"], env=environ, capture_output=True, text=True)
    assert proc.returncode == 1 and f"{conf} exists and was not written by this script" in proc.stderr, proc.stderr
    assert conf.read_text() == "ClusterName=production\n"
