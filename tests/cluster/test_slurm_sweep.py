"""The emitted SLURM files, unmodified, on a real controller: base job then the cell array
that waits for it, one array task cancelled mid-training and resubmitted as documented, the node
drained mid-array and resumed; and the same check catching a submit script without the dependency.

Each cell trains the tiny model for real (accelerate launch on CPU); jobs ask for one CPU and
no GPU (`--emit slurm --gpus-per-task 0 --cpus-per-task 1`), so two run side by side on 2 CPUs.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iftkit.config import load_recipe
from iftkit.sweep.emit import job_names
from iftkit.sweep.grid import expand
from iftkit.sweep.layout import SweepPaths
from iftkit.sweep.slurm_view import SQUEUE_FIELDS, parse_squeue
from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import BASE_EVAL_LINE, CHEAP, ROOT, assert_complete, env, sweep_recipe
from iftkit.training.resume import checkpoint_step, last_complete_checkpoint

pytestmark = pytest.mark.slow

# 60 steps with a checkpoint every 2: training lasts seconds, long enough to cancel it between checkpoints
TRAINING = "{max_steps: 60, per_device_train_batch_size: 4, save_steps: 2, logging_steps: 10}"
ACCELERATE_CPU = (
    "compute_environment: LOCAL_MACHINE\ndistributed_type: 'NO'\nnum_processes: 1\nnum_machines: 1\n"
    "machine_rank: 0\nmixed_precision: 'no'\nuse_cpu: true\n"
)
WAIT_S = 1200  # a guard against hanging forever on a stuck scheduler, not a performance limit
FINISHED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED")


class Queue:
    """What squeue says about the sweep's jobs, remembered across polls (the controller forgets
    finished jobs after MinJobAge)."""

    def __init__(self, names):
        self.names = names
        self.jobs = {}

    def poll(self) -> dict:
        out = run(["squeue", "-h", "-r", "-t", "all", f"--name={','.join(self.names)}", "-o", SQUEUE_FIELDS])
        self.jobs.update({job.id: job for job in parse_squeue(out)})
        return self.jobs

    def state(self, job_id) -> str:
        return self.jobs[job_id].state if job_id in self.jobs else "?"

    def wait(self, what: str, condition):
        deadline = time.monotonic() + WAIT_S
        while not condition(self.poll()):
            if time.monotonic() > deadline:
                raise AssertionError(f"still waiting for {what}; squeue: {self.jobs}")
            time.sleep(0.5)


class SlurmSweep:
    """A tiny sweep emitted for SLURM into tmp_path, submitted with its own submit.sh."""

    def __init__(self, tmp_path, model_dir, grid):
        self.recipe = sweep_recipe(tmp_path, model_dir, grid=grid, **{**CHEAP, "training": TRAINING})
        self.root = tmp_path / "runs" / "tiny-sweep"
        accelerate = tmp_path / "accelerate_cpu.yaml"
        accelerate.write_text(ACCELERATE_CPU)
        # sbatch hands this environment to the jobs; PATH is left as it is: the jobs run the
        # interpreter that emitted them, whatever `python` the PATH has
        self.env = env(tmp_path)
        self.cli("--emit", "slurm", "--gpus-per-task", "0", "--cpus-per-task", "1", "--accelerate-config", accelerate)
        self.queue = Queue(job_names(self.root))
        self.submitted = []

    def adapter_dir(self, label: str) -> Path:
        cells = {c.label: c for c in expand(load_recipe(str(self.recipe)), source=str(self.recipe))}
        return SweepPaths(self.root).adapter_dir(cells[label])

    def cli(self, *args) -> str:
        cmd = [sys.executable, "-m", "iftkit", "sweep", "--config", self.recipe, "--no-progress", *args]
        return run(cmd, env=self.env)

    def submit(self) -> tuple[str, str]:
        out = run(["bash", self.root / "submit.sh"], env=self.env)
        base = re.search(r"base-model evaluation: job (\d+)", out).group(1)
        array = re.search(r"Submitted batch job (\d+)", out).group(1)
        self.submitted += [base, array]
        return base, array

    def resubmit(self, task: int) -> str:
        """The resubmit sweep.slurm documents for a killed task."""
        assert f"sbatch --array=<task id> {self.root}/sweep.slurm" in (self.root / "sweep.slurm").read_text()
        out = run(["sbatch", f"--array={task}", self.root / "sweep.slurm"], env=self.env)
        job = re.search(r"Submitted batch job (\d+)", out).group(1)
        self.submitted.append(job)
        return job

    def logs(self) -> dict:
        return {p.name: p.read_text() for p in (self.root / "slurm").glob("*.out")}

    def cancel_all(self):
        if self.submitted:
            subprocess.run(["scancel", *self.submitted], capture_output=True)


def run(cmd, env=None) -> str:
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture
def sweep_on(slurm_node, tmp_path, tiny_model_dir):
    made = []

    def make(grid):
        made.append(SlurmSweep(tmp_path, tiny_model_dir, grid))
        return made[-1]

    yield make
    for sweep in made:
        sweep.cancel_all()  # a failed test leaves no job behind to hold the node
    subprocess.run(["scontrol", "update", f"nodename={slurm_node}", "state=resume"], capture_output=True)


def assert_cells_started_after_base(jobs: dict, base: str, array: str):
    """The scheduler's own times: no task of the array started before the base job had ended."""
    assert jobs[base].state == "COMPLETED", jobs[base]
    tasks = [j for j in jobs.values() if j.id.startswith(f"{array}_")]
    assert tasks, f"no task of array job {array} seen: {jobs}"
    early = [f"{t.id} started {t.start}" for t in tasks if t.start < jobs[base].end]  # ISO times sort as text
    assert not early, f"array tasks started before the base job ended at {jobs[base].end}: {early}"


def test_emitted_sweep_runs_on_slurm_through_a_cancelled_task_and_a_drained_node(sweep_on, slurm_node):
    sweep = sweep_on("[0.0, 0.5, 1.0]")
    labels = ["ratio=0.0-seed=0", "ratio=0.5-seed=0", "ratio=1.0-seed=0"]
    q = sweep.queue
    base, array = sweep.submit()
    assert f"Dependency=afterok:{base}" in run(["scontrol", "-o", "show", "job", array])

    # two tasks run side by side (one CPU each), the third waits for a CPU
    q.wait(
        "tasks 0 and 1 running, 2 pending",
        lambda j: q.state(f"{array}_0") == q.state(f"{array}_1") == "RUNNING" and q.state(f"{array}_2") == "PENDING",
    )
    assert_cells_started_after_base(q.jobs, base, array)
    run(["scontrol", "update", f"nodename={slurm_node}", "state=drain", "reason=iftkit cluster test"])

    # cancel task 1 once it has a checkpoint and is still training
    checkpoints = sweep.adapter_dir(labels[1]) / "checkpoints"
    q.wait("a checkpoint of cell 1", lambda j: last_complete_checkpoint(checkpoints) is not None)
    run(["scancel", f"{array}_1"])
    q.wait("task 1 cancelled", lambda j: q.state(f"{array}_1") == "CANCELLED")
    state = SweepState(sweep.root)
    assert state.get(labels[1])["status"] == "training", "training finished before the cancel landed"
    saved = checkpoint_step(last_complete_checkpoint(checkpoints))
    assert 2 <= saved < 60
    again = sweep.resubmit(1)

    # task 0 ends on the drained node; task 2 and the resubmitted task 1 stay pending through
    # the scheduler passes after it (LastSchedEval later than its end)
    q.wait("task 0 finished", lambda j: q.state(f"{array}_0") in FINISHED)
    assert q.state(f"{array}_0") == "COMPLETED"
    ended = q.jobs[f"{array}_0"].end

    def evaluated_since(job_id):
        fields = dict(f.split("=", 1) for f in run(["scontrol", "-o", "show", "job", job_id]).split() if "=" in f)
        return fields.get("LastSchedEval", "") > ended

    q.wait("a scheduler pass after task 0", lambda j: evaluated_since(f"{array}_2") and evaluated_since(f"{again}_1"))
    jobs = q.poll()
    assert jobs[f"{array}_2"].state == jobs[f"{again}_1"].state == "PENDING", jobs
    node = run(["sinfo", "-h", "-N", "-n", slurm_node, "-o", "%T"]).strip()
    assert node == "drained", node
    status = sweep.cli("status")
    assert status.startswith("scheduler: squeue"), status
    cancelled_then_pending = rf"slurm: job {array}_1 CANCELLED.*; then job {again}_1 PENDING \("
    assert re.search(rf"{labels[1]}  stopped while training .*\n +{cancelled_then_pending}", status), status
    assert re.search(rf"{labels[2]}  pending\n +slurm: job {array}_2 PENDING \(", status), status
    assert re.search(rf"{labels[0]}  done .*\n +slurm: job {array}_0 COMPLETED on {slurm_node}", status), status

    run(["scontrol", "update", f"nodename={slurm_node}", "state=resume"])
    q.wait("every job finished", lambda j: all(q.state(i) in FINISHED for i in [f"{array}_2", f"{again}_1", base]))
    assert q.state(f"{array}_2") == q.state(f"{again}_1") == "COMPLETED", q.jobs
    assert q.jobs[f"{array}_2"].start >= q.jobs[f"{array}_0"].end  # it ran only after the resume freed the node

    logs = sweep.logs()
    resumed = logs[f"{again}_1.out"]
    resume_line = f"resuming from checkpoint {checkpoints}/checkpoint-{saved} (step {saved})"
    assert resume_line in resumed, resumed[-3000:]
    assert [name for name, text in logs.items() if BASE_EVAL_LINE in text] == [f"base_{base}.out"]
    sweep.cli("collect")
    assert_complete(sweep.root, labels, list(logs.values()))
    assert state.get(labels[1])["slurm_job"] == f"{again}_1"


def test_the_order_check_catches_cells_racing_the_base_job(sweep_on):
    """The check above fails on a submit script whose array does not wait for the base job."""
    sweep = sweep_on("[1.0]")
    submit = sweep.root / "submit.sh"
    shipped = submit.read_text()
    broken = shipped.replace('--dependency=afterok:"$base_job" --kill-on-invalid-dep=yes ', "")
    assert broken != shipped
    submit.write_text(broken)
    base, array = sweep.submit()
    q = sweep.queue
    q.wait("both jobs finished", lambda j: q.state(base) in FINISHED and q.state(f"{array}_0") in FINISHED)
    assert q.state(base) == q.state(f"{array}_0") == "COMPLETED", q.jobs  # the race itself breaks nothing here
    with pytest.raises(AssertionError, match="array tasks started before the base job ended"):
        assert_cells_started_after_base(q.jobs, base, array)
