"""Sweep state: one small record per cell (and one for the base model), safe with many writers.

A cell moves pending -> training -> trained -> evaluating -> done (or failed). Each record is
its own file, `state/<label>.json`, replaced atomically, and only the process holding that
cell's lock (`state/<label>.lock`) writes it: array tasks or agents running different cells
at once never touch each other's records, and two processes handed the same cell take turns
(the second finds it done). A process killed at any moment leaves its cell in
training/evaluating with the lock released by the kernel; the rerun redoes just that step
(training itself resumes from its last checkpoint) and skips every cell already done with the
same hashes.
"""

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

from filelock import FileLock, Timeout

from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError

STATE_DIR = "state"
LEGACY_STATE_FILE = "sweep_state.json"  # one shared file, written by sweeps before per-cell records


class SweepState:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.dir = self.root / STATE_DIR
        self._legacy = self._read_legacy()

    def record_path(self, label: str) -> Path:
        return self.dir / f"{label}.json"

    def lock_path(self, label: str) -> Path:
        return self.dir / f"{label}.lock"

    def get(self, label: str) -> dict:
        """The cell's record as on disk now (another process may have written it since we last looked)."""
        path = self.record_path(label)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return dict(self._legacy.get(label, {}))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IftkitError(f"{path}: unreadable sweep state ({exc}); delete it to redo that cell") from None

    def is_done(self, label: str, train_hash, eval_hash) -> bool:
        """Done for these hashes (each a hash, or the tuple of hashes the same recipe had in each version)."""
        entry = self.get(label)
        return (
            entry.get("status") == "done"
            and entry.get("train_hash") in _hashes(train_hash)
            and entry.get("eval_hash") in _hashes(eval_hash)
        )

    def is_trained(self, label: str, train_hash) -> bool:
        entry = self.get(label)
        return (entry.get("status") in ("trained", "evaluating", "done")
                and entry.get("train_hash") in _hashes(train_hash))

    def update(self, label: str, **fields) -> None:
        """Merge fields into the cell's record; call it only while holding the cell (see `hold`)."""
        entry = {
            **self.get(label),
            **fields,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "slurm_job": _slurm_job(),
            # the raw id too: an array task's own job id, which `sacct --completion` reports it under
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        }
        write_json_atomic(self.record_path(label), entry, indent=2, sort_keys=True)

    @contextmanager
    def hold(self, label: str, say: Callable = print, waiting: str = "another process is running it"):
        """Run one cell's steps alone: a second process asking for the same cell waits here.

        The lock is a kernel file lock (flock, which Linux NFS clients turn into NFS locks): a
        killed holder releases it at once, so a resubmitted task never waits on a dead one.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path(label)))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = self.get(label)
            say(f"[{label}] {waiting} (pid {holder.get('pid')} on {holder.get('host')}); waiting for it")
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def is_running(self, label: str) -> bool:
        """Whether some live process holds the cell now (its lock is taken)."""
        if not self.lock_path(label).exists():
            return False
        lock = FileLock(str(self.lock_path(label)))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        return False

    def describe(self, label: str, held_as: Optional[str] = None) -> str:
        """One line for `iftkit sweep status`: where the cell stands and what a rerun would do.
        held_as: the label whose lock covers this record (a cell's scaled or checkpoint points run under its lock)."""
        entry = self.get(label)
        status = entry.get("status", "pending")
        where = f"on {entry.get('host')}" + (f", SLURM job {entry['slurm_job']}" if entry.get("slurm_job") else "")
        if status == "done":
            return f"done ({entry.get('updated')})"
        if status == "pending":
            return "pending"
        if status == "failed":
            return (
                f"failed while {entry.get('failed_step', '?')} {where} at {entry.get('updated')}: {entry.get('error')}"
            )
        if self.is_running(held_as or label):
            return f"{status} {where} (pid {entry.get('pid')}), last step began {entry.get('updated')}"
        return (
            f"stopped while {status} {where} at {entry.get('updated')} (no process holds it; rerun the cell to resume)"
        )

    def _read_legacy(self) -> dict:
        path = self.root / LEGACY_STATE_FILE
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())["cells"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise IftkitError(f"{path}: unreadable sweep state ({exc}); move it aside to start over") from None


def _hashes(h) -> tuple:
    return (h,) if isinstance(h, str) else tuple(h)


def _slurm_job():
    array = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array:
        return f"{array}_{os.environ.get('SLURM_ARRAY_TASK_ID')}"
    return os.environ.get("SLURM_JOB_ID")
