"""The scheduler's side of `iftkit sweep status`, from squeue/sacct output recorded on a real
SLURM 22.05 controller (scripts/slurm_local.sh); tests/cluster runs it against a live one."""

import subprocess

from iftkit.sweep import slurm_view
from iftkit.sweep.slurm_view import parse_sacct, parse_squeue, query

SWEEP = "/runs/tiny-sweep"
SQUEUE = f"""5|5|iftkit-tiny-sweep-base|COMPLETED|None|vm|2026-12-05T17:14:17|2026-12-05T17:14:28|{SWEEP}/base.slurm
6_2|6|iftkit-tiny-sweep|PENDING|ReqNodeNotAvail, UnavailableNodes:vm|(null)|N/A|N/A|{SWEEP}/sweep.slurm
6_0|7|iftkit-tiny-sweep|RUNNING|None|vm|2026-12-05T17:14:29|Unknown|{SWEEP}/sweep.slurm
6_1|8|iftkit-tiny-sweep|CANCELLED|None|vm|2026-12-05T17:14:29|2026-12-05T17:14:51|{SWEEP}/sweep.slurm
9_1|9|iftkit-tiny-sweep|PENDING|ReqNodeNotAvail, UnavailableNodes:vm|(null)|N/A|N/A|{SWEEP}/sweep.slurm
12_0|12|iftkit-tiny-sweep|RUNNING|None|vm|2026-12-05T17:30:00|Unknown|/elsewhere/runs/tiny-sweep/sweep.slurm
"""
# `sacct --completion` on jobcomp/filetxt: raw job ids only (22.05 cannot read the array fields back)
COMPLETION = """5|iftkit-tiny-sweep-base|COMPLETED|0:0|2026-12-05T17:14:17|2026-12-05T17:14:28|vm
7|iftkit-tiny-sweep|COMPLETED|0:0|2026-12-05T17:14:29|2026-12-05T17:15:28|vm
8|iftkit-tiny-sweep|CANCELLED by 0|0:15|2026-12-05T17:14:29|2026-12-05T17:14:51|vm
"""
DISABLED = "Slurm accounting storage is disabled\n"


def fake_slurm(monkeypatch, answers):
    """squeue/sacct answer from `answers` ({first two words of the command: (rc, stdout, stderr)})."""
    calls = []

    def run(cmd):
        calls.append(cmd)
        rc, out, err = answers[" ".join(cmd[:2])]
        return subprocess.CompletedProcess(cmd, rc, out, err)

    monkeypatch.setattr(slurm_view.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(slurm_view, "_run", run)
    return calls


def test_squeue_lines_become_jobs_with_their_array_task_and_reason():
    jobs = {j.id: j for j in parse_squeue(SQUEUE)}
    assert jobs["6_2"].task == 2 and jobs["6_2"].raw_id == 6 and jobs["5"].task is None
    assert jobs["6_2"].describe() == "job 6_2 PENDING (ReqNodeNotAvail, UnavailableNodes:vm)"
    assert jobs["6_0"].describe() == "job 6_0 RUNNING on vm since 2026-12-05T17:14:29"
    assert jobs["5"].describe() == "job 5 COMPLETED on vm, 2026-12-05T17:14:17 to 2026-12-05T17:14:28"


def test_completion_log_ids_are_mapped_back_to_array_tasks_through_the_records():
    jobs = {j.id: j for j in parse_sacct(COMPLETION, completion=True, array_ids={"7": "6_0", "8": "6_1"})}
    assert set(jobs) == {"5", "6_0", "6_1"}
    assert jobs["6_1"].state == "CANCELLED" and jobs["6_1"].task == 1
    assert jobs["6_1"].describe() == "job 6_1 CANCELLED, exit 0:15 on vm, 2026-12-05T17:14:29 to 2026-12-05T17:14:51"


def test_newest_job_of_a_task_wins_and_other_sweeps_jobs_are_left_out(monkeypatch):
    fake_slurm(monkeypatch, {"squeue -h": (0, SQUEUE, "")})
    view = query(("iftkit-tiny-sweep-base", "iftkit-tiny-sweep"), (f"{SWEEP}/base.slurm", f"{SWEEP}/sweep.slurm"), {})
    assert view.source == "squeue"
    assert view.newest("iftkit-tiny-sweep", 1).id == "9_1"  # the resubmitted task, not the cancelled 6_1
    assert view.newest("iftkit-tiny-sweep", 0).id == "6_0"  # 12_0 runs another folder's sweep.slurm
    assert view.newest("iftkit-tiny-sweep-base").id == "5"
    # the record names the cancelled task, then comes its resubmission
    assert [j.id for j in view.for_point("iftkit-tiny-sweep", 1, raw_id="8")] == ["6_1", "9_1"]
    assert [j.id for j in view.for_point("iftkit-tiny-sweep", 0, raw_id="7")] == ["6_0"]


def test_jobs_squeue_forgot_come_from_the_completion_log_when_there_is_no_accounting(monkeypatch):
    calls = fake_slurm(
        monkeypatch,
        {
            "squeue -h": (0, "", ""),
            "sacct -n": (1, "", DISABLED),
            "sacct --completion": (0, COMPLETION, "sacct: error: Unknown type ArrayJobId: 6\n"),
        },
    )
    view = query(("b", "a"), (), {"5": "5", "7": "6_0", "8": "6_1"})
    assert view.source == "squeue + sacct --completion (the job completion log; no accounting storage)"
    assert [c[:2] for c in calls] == [["squeue", "-h"], ["sacct", "-n"], ["sacct", "--completion"]]
    assert "5,7,8" in calls[1] and "5,7,8" in calls[2]
    assert [j.describe()[:17] for j in view.for_point("nope", raw_id="8")] == ["job 6_1 CANCELLED"]


def test_a_controller_that_does_not_answer_is_said_once_and_status_goes_on(monkeypatch):
    fake_slurm(
        monkeypatch,
        {
            "squeue -h": (1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n"),
            "sacct -n": (1, "", "sacct: error: Problem talking to the database: Connection refused\n"),
        },
    )
    view = query(("b", "a"), (), {"7": "6_0"})
    assert view.jobs == []
    assert view.source == (
        "squeue failed (slurm_load_jobs error: Unable to contact slurm controller (connect failure)) + "
        "sacct failed (sacct: error: Problem talking to the database: Connection refused)"
    )


def test_no_squeue_means_no_scheduler_view(monkeypatch):
    monkeypatch.setattr(slurm_view.shutil, "which", lambda name: None)
    assert query(("b", "a"), (), {}) is None
