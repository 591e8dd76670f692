"""Per-cell sweep state: reloads, legacy file, many writers at once, and what `status` says."""

import json
import subprocess
import sys

import pytest

from iftkit.core.errors import IftkitError
from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import ROOT


def test_state_survives_reload_and_tracks_hashes(tmp_path):
    s = SweepState(tmp_path)
    s.update("a", status="done", train_hash="t", eval_hash="e")
    s2 = SweepState(tmp_path)
    assert s2.is_done("a", "t", "e") and s2.is_trained("a", "t")
    assert not s2.is_done("a", "t", "other") and not s2.is_trained("a", "other")
    assert s2.get("a")["pid"] > 0 and s2.get("a")["host"]
    (tmp_path / "state" / "a.json").write_text("{broken")
    with pytest.raises(IftkitError, match=r"state/a.json: unreadable sweep state"):
        SweepState(tmp_path).get("a")


def test_records_of_the_old_shared_state_file_still_count(tmp_path):
    (tmp_path / "sweep_state.json").write_text(
        json.dumps({"cells": {"a": {"status": "done", "train_hash": "t", "eval_hash": "e"}}})
    )
    s = SweepState(tmp_path)
    assert s.is_done("a", "t", "e")
    s.update("a", status="evaluating", eval_hash="e2")  # the cell's own record takes over from here
    assert SweepState(tmp_path).get("a")["status"] == "evaluating"
    (tmp_path / "sweep_state.json").write_text("[]")
    with pytest.raises(IftkitError, match="sweep_state.json: unreadable sweep state"):
        SweepState(tmp_path)


WRITER = """
import sys
from iftkit.sweep.state import SweepState
state, label = SweepState(sys.argv[1]), sys.argv[2]
with state.hold(label):
    for step in range(40):
        state.update(label, status="training", step=step)
    state.update(label, status="done")
"""


def test_cells_written_by_many_processes_at_once_all_survive(tmp_path):
    labels = [f"cell{i}" for i in range(6)]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), label], cwd=ROOT) for label in labels]
    assert [p.wait() for p in procs] == [0] * len(labels)
    state = SweepState(tmp_path)
    assert [(state.get(label)["status"], state.get(label)["step"]) for label in labels] == [("done", 39)] * len(labels)
    assert not list((tmp_path / "state").glob("*.tmp"))


HOLDER = """
import sys
from iftkit.sweep.state import SweepState
state = SweepState(sys.argv[1])
with state.hold("a"):
    state.update("a", status="training")
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_status_tells_running_from_stopped_and_failed(tmp_path):
    state = SweepState(tmp_path)
    assert state.describe("a") == "pending"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "holding\n"
    assert state.describe("a").startswith(f"training on {state.get('a')['host']} (pid {holder.pid})")
    holder.kill()  # kill -9: the kernel drops its lock, the record still says training
    holder.wait()
    assert state.describe("a").startswith("stopped while training") and "rerun the cell to resume" in state.describe(
        "a"
    )
    said = []
    with state.hold("a", say=said.append):  # nobody holds it any more: no waiting
        state.update("a", status="failed", failed_step="training", error="CUDA out of memory")
    assert said == []
    assert state.describe("a").startswith("failed while training") and state.describe("a").endswith(
        "CUDA out of memory"
    )


def test_a_second_process_waits_for_the_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "holding\n"
    waiter = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), "a"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert waiter.stdout.readline().startswith(f"[a] another process is running it (pid {holder.pid}")
    assert SweepState(tmp_path).get("a")["status"] == "training" and "step" not in SweepState(tmp_path).get("a")
    holder.communicate("go\n")
    assert waiter.wait() == 0
    assert SweepState(tmp_path).get("a")["status"] == "done"
