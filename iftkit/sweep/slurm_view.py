"""The scheduler's side of `iftkit sweep status`: what SLURM says about the sweep's jobs.

squeue knows the jobs the controller still holds: pending (with the reason: Dependency,
Resources, ReqNodeNotAvail...), running, and for MinJobAge after the end (5 minutes by
default) finished ones (`-t all`). Older jobs come from sacct: the accounting database where
there is one (slurmdbd), else the job completion log (`sacct --completion`, jobcomp/filetxt),
which knows an array task only by its own job id. Each cell's state record keeps that id
(`slurm_job_id`) next to the array form (`slurm_job`, "12_3"), so both can be matched.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional

SQUEUE_FIELDS = "%i|%A|%j|%T|%r|%N|%S|%e|%o"  # %o: the job script, which ties a job to its sweep folder
SACCT_FIELDS = "JobID,JobIDRaw,JobName,State,ExitCode,Start,End,NodeList"
COMPLETION_FIELDS = "jobid,jobname,state,exitcode,start,end,nodelist"  # its jobid is the raw one


@dataclass
class Job:
    id: str  # "12_3" for an array task, else "12"
    raw_id: int  # the task's own job id ("15" for 12_3)
    name: str
    state: str
    reason: str = ""
    node: str = ""
    start: str = ""
    end: str = ""
    exit_code: str = ""
    script: str = ""

    @property
    def task(self) -> Optional[int]:
        """The array task index, or None for a plain job (or an array not split into tasks yet)."""
        _, sep, task = self.id.partition("_")
        return int(task) if sep and task.isdigit() else None

    def describe(self) -> str:
        where = f" on {self.node}" if self.node and self.node != "(null)" else ""
        if self.state == "PENDING":
            return f"job {self.id} PENDING ({self.reason})"
        if self.state in ("RUNNING", "COMPLETING", "CONFIGURING"):
            return f"job {self.id} {self.state}{where} since {self.start}"
        failed = f", exit {self.exit_code}" if self.exit_code not in ("", "0:0") else ""
        return f"job {self.id} {self.state}{failed}{where}, {self.start} to {self.end}"


@dataclass
class SchedulerView:
    jobs: list[Job]
    source: str  # which commands answered, for the status header

    def newest(self, name: str, task: Optional[int] = None) -> Optional[Job]:
        """The latest job of that name (and array task): a resubmitted task has a newer id than
        the one it replaces."""
        found = [j for j in self.jobs if j.name == name and (task is None or j.task == task)]
        return max(found, key=lambda j: j.raw_id) if found else None

    def for_point(self, name: str, task: Optional[int] = None, raw_id=None) -> list[Job]:
        """The job the point's record names (the last one that worked on it) and the newest one of
        its name and task, if that is another (a resubmission), oldest first."""
        recorded = [j for j in self.jobs if raw_id and str(j.raw_id) == str(raw_id)]
        newest = self.newest(name, task)
        jobs = {j.raw_id: j for j in recorded + ([newest] if newest else [])}
        return [jobs[k] for k in sorted(jobs)]


def parse_squeue(text: str) -> list[Job]:
    jobs = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 9 or not parts[1].isdigit():
            continue
        job_id, raw, name, state, reason, node, start, end, script = parts
        jobs.append(Job(job_id, int(raw), name, state, reason, node, start, end, script=script))
    return jobs


def parse_sacct(text: str, completion: bool = False, array_ids: dict = None) -> list[Job]:
    """sacct -P lines in SACCT_FIELDS, or in COMPLETION_FIELDS for `sacct --completion`, whose raw
    ids are mapped back to array form through array_ids ({raw id: "12_3"}, from the state records)."""
    jobs = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if completion and len(parts) == 7 and parts[0].isdigit():
            raw, name, state, exit_code, start, end, node = parts
            job_id = (array_ids or {}).get(raw, raw)
        elif not completion and len(parts) == 8 and parts[1].isdigit():
            job_id, raw, name, state, exit_code, start, end, node = parts
        else:
            continue
        # sacct says "CANCELLED by 0"; the state word is enough here
        jobs.append(Job(job_id, int(raw), name, state.split()[0], node=node, start=start, end=end, exit_code=exit_code))
    return jobs


def _run(cmd: list[str]):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(cmd, 1, "", str(exc))


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[0]


def _same_file(a: str, b) -> bool:
    return a == str(b) or os.path.realpath(a) == os.path.realpath(b)


def query(names: tuple[str, ...], scripts: tuple, array_ids: dict) -> Optional[SchedulerView]:
    """The jobs named `names` that squeue holds and that run one of `scripts` (another sweep of the
    same name runs its own folder's scripts), plus the ones the records name ({raw id: array form})
    from sacct; None where there is no squeue (not a SLURM machine)."""
    if shutil.which("squeue") is None:
        return None
    notes = []
    proc = _run(["squeue", "-h", "-r", "-t", "all", f"--name={','.join(names)}", "-o", SQUEUE_FIELDS])
    jobs = parse_squeue(proc.stdout) if proc.returncode == 0 else []
    jobs = [j for j in jobs if any(_same_file(j.script, s) for s in scripts)]
    notes.append("squeue" if proc.returncode == 0 else f"squeue failed ({_first_line(proc.stderr)})")
    held = {str(j.raw_id) for j in jobs}
    older = sorted((raw for raw in array_ids if raw not in held), key=int)
    if older and shutil.which("sacct"):
        ids = ",".join(older)
        proc = _run(["sacct", "-n", "-P", "-X", "-j", ids, "-o", SACCT_FIELDS])
        if proc.returncode == 0:
            jobs += parse_sacct(proc.stdout)
            notes.append("sacct")
        elif "accounting storage is disabled" in (proc.stdout + proc.stderr).lower():
            proc = _run(["sacct", "--completion", "-n", "-P", "-j", ids, "-o", COMPLETION_FIELDS])
            found = parse_sacct(proc.stdout, completion=True, array_ids=array_ids)
            jobs += found
            notes.append(
                "sacct --completion (the job completion log; no accounting storage)"
                if found
                else "no sacct data (accounting storage disabled, no job completion log)"
            )
        else:
            notes.append(f"sacct failed ({_first_line(proc.stderr or proc.stdout)})")
    return SchedulerView(jobs, " + ".join(notes))
