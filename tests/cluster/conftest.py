"""Tests against a real SLURM controller (`make test-cluster` starts one: scripts/slurm_local.sh up).

Skipped, with the reason, where there is no sbatch or no controller answers; so `make test`
(run before the cluster is up) skips them and `make test-cluster` runs them (and sets
IFTKIT_REQUIRE_CLUSTER=1: there, a cluster that cannot run them is a failure, not a skip).
"""

import os
import shutil
import subprocess

import pytest


def _skip_reason():
    if shutil.which("sbatch") is None:
        return "no SLURM here (sbatch not on PATH); `make test-cluster` starts a one-node cluster and runs these"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    if ping.returncode != 0 or "UP" not in ping.stdout:
        said = ((ping.stdout + ping.stderr).strip().splitlines() or ["no answer"])[0]
        return f"no SLURM controller answers (scontrol ping: {said}); `make test-cluster` starts one"
    return None


def _cannot_run(reason: str):
    if os.environ.get("IFTKIT_REQUIRE_CLUSTER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_node():
    """The name of the cluster's one node, idle: the tests drain it and count its CPUs."""
    reason = _skip_reason()
    if reason:
        _cannot_run(reason)
    nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%N|%T|%c"], capture_output=True, text=True, check=True)
    lines = nodes.stdout.split()
    if len(lines) != 1:
        _cannot_run(f"these tests drain the cluster's only node; this cluster has {len(lines)} nodes")
    name, state, cpus = lines[0].split("|")
    if int(cpus) < 2:
        pytest.skip(f"node {name} has {cpus} CPU; the tests run a cell next to another job (2 or more)")
    busy = subprocess.run(["squeue", "-h", "-t", "pending,running"], capture_output=True, text=True).stdout
    if busy.strip() or state not in ("idle",):
        _cannot_run(f"node {name} is {state} with jobs queued: {busy.strip()[:200]}; these tests need it to themselves")
    return name
