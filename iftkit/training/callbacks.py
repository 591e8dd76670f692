"""Trainer callbacks: wall time that survives resumes, early stopping on validation loss."""

import json
import time
from pathlib import Path

from transformers import EarlyStoppingCallback, TrainerCallback

from iftkit.io.atomic import write_json_atomic


class ElapsedTimeCallback(TrainerCallback):
    """Record training time so far next to each checkpoint, so a resumed run's card counts it all."""

    def __init__(self, state_path: Path, started: float, prior_elapsed: float):
        self.state_path, self.started, self.prior = state_path, started, prior_elapsed

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        try:
            data = json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            data = {}
        data["elapsed_s"] = self.prior + (time.time() - self.started)
        data["last_saved_step"] = state.global_step
        write_json_atomic(self.state_path, data)


def progress_callbacks(
    recipe, out: Path, state_file: str, started: float, prior_elapsed: float, has_eval: bool
) -> list:
    cbs = [ElapsedTimeCallback(Path(out) / state_file, started, prior_elapsed)]
    if recipe.training.early_stopping_patience and has_eval:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=recipe.training.early_stopping_patience))
    return cbs
