"""The sweep state file: each cell's status and artefact hashes, rewritten atomically.

A cell moves pending -> training -> trained -> evaluating -> done. A process killed at any
moment leaves its cell in training/evaluating; the rerun redoes just that step (training
itself resumes from its last checkpoint) and skips every cell already done with the same
hashes.
"""

import json
import time
from pathlib import Path

from iftkit.errors import IftkitError
from iftkit.io.atomic import write_json_atomic

STATE_FILE = "sweep_state.json"


class SweepState:
    def __init__(self, root: Path):
        self.path = Path(root) / STATE_FILE
        self.cells: dict = {}
        if self.path.is_file():
            try:
                self.cells = json.loads(self.path.read_text())["cells"]
            except (json.JSONDecodeError, KeyError) as exc:
                raise IftkitError(f"{self.path}: unreadable sweep state ({exc}); move it aside to start over") from None

    def get(self, label: str) -> dict:
        return self.cells.get(label, {})

    def is_done(self, label: str, train_hash: str, eval_hash: str) -> bool:
        entry = self.get(label)
        return entry.get("status") == "done" and entry.get("train_hash") == train_hash and entry.get("eval_hash") == eval_hash

    def is_trained(self, label: str, train_hash: str) -> bool:
        entry = self.get(label)
        return entry.get("status") in ("trained", "evaluating", "done") and entry.get("train_hash") == train_hash

    def update(self, label: str, **fields) -> None:
        entry = self.cells.setdefault(label, {})
        entry.update(fields, updated=time.strftime("%Y-%m-%dT%H:%M:%S"))
        self.save()

    def save(self) -> None:
        write_json_atomic(self.path, {"cells": self.cells}, indent=2, sort_keys=True)
