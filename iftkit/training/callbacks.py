"""Trainer callbacks: wall time that survives resumes, early stopping on validation loss, adapters
kept at chosen steps (sweep.checkpoints)."""

import json
import shutil
import time
from pathlib import Path

from transformers import EarlyStoppingCallback, TrainerCallback

from iftkit.core.atomic import write_json_atomic


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


STEPS_DIR = "steps"


def step_dir(adapter_dir, step: int) -> Path:
    """Where the adapter as it was after `step` optimizer steps is kept."""
    return Path(adapter_dir) / STEPS_DIR / f"step-{step}"


def kept_steps(adapter_dir) -> list[int]:
    """The steps whose adapters were kept whole (a folder still being written is named *.partial)."""
    root = Path(adapter_dir) / STEPS_DIR
    if not root.is_dir():
        return []
    return sorted(int(d.name[5:]) for d in root.iterdir() if d.is_dir() and d.name[5:].isdigit())


class KeepStepsCallback(TrainerCallback):
    """Save the adapter after each of `steps` optimizer steps into its own dir, with a card saying the step.

    The Trainer's own checkpoints rotate (save_total_limit) and are deleted once training ends;
    these stay, as plain PEFT adapter dirs that eval loads like the final one. The final step is
    not kept twice: it is the adapter as trained. Written under a temporary name and renamed, so a
    kill leaves no half adapter; a resumed run skips the steps already kept.
    """

    def __init__(self, out: Path, steps: list[int], card: dict):
        self.out, self.steps, self.card = Path(out), set(steps), card
        self.trainer = None  # set once the trainer exists (it saves the model: every rank takes part)

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        if step not in self.steps or step >= state.max_steps or step_dir(self.out, step).is_dir():
            return
        target = step_dir(self.out, step)
        partial = target.with_name(target.name + ".partial")
        self.trainer.save_model(str(partial))
        if state.is_world_process_zero:
            write_json_atomic(partial / "adapter_card.json", {**self.card, "status": "checkpoint", "step": step,
                                                              "final_step": state.max_steps})
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)


def progress_callbacks(
    recipe, out: Path, state_file: str, started: float, prior_elapsed: float, has_eval: bool
) -> list:
    cbs = [ElapsedTimeCallback(Path(out) / state_file, started, prior_elapsed)]
    if recipe.training.early_stopping_patience and has_eval:
        cbs.append(EarlyStoppingCallback(early_stopping_patience=recipe.training.early_stopping_patience))
    return cbs
