"""One adapter's training run, before the trainer exists: where the adapter goes, the mix it trains on,
the checkpoint it resumes from and its W&B run.

Rerunnable: a complete adapter (card status "complete") is left alone unless `overwrite`;
an interrupted one resumes from its last checkpoint under `<adapter>/checkpoints/`, with the
same W&B run id (kept in `<adapter>/train_state.json`). Under `accelerate launch` every
rank trains; only the main process builds the mix, writes the adapter, card and W&B run.
"""

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from iftkit import tracking
from iftkit.config import identity as ids
from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.core.paths import safe_name
from iftkit.data.mix import build_mix, load_manifest
from iftkit.models.resolve import resolve_model
from iftkit.training import card as cards
from iftkit.training.dataset import load_split
from iftkit.training.resume import last_complete_checkpoint
from iftkit.training.sft_inputs import cuda_available

CHECKPOINTS = "checkpoints"
STATE_NAME = "train_state.json"


@dataclass
class AdapterRun:
    """What every step of one adapter's training reads and fills in (each rank holds its own)."""

    recipe: Recipe
    out: Path
    state: Any  # accelerate's PartialState: this rank, and the barrier between ranks
    say: Callable
    model_path: str = ""
    reused: Optional[dict] = None  # the card of a complete adapter left as it is
    mix: Optional[Path] = None
    manifest: dict = field(default_factory=dict)
    resume_from: Optional[str] = None  # the checkpoint a crashed run resumes from
    prior: dict = field(default_factory=dict)  # train_state.json of that crashed run
    wandb: Any = None  # the W&B run (main process, tracking on)
    started: float = field(default_factory=time.time)

    @property
    def is_main(self) -> bool:
        return self.state.is_main_process

    @property
    def checkpoints(self) -> Path:
        return self.out / CHECKPOINTS

    def elapsed(self) -> float:
        """Training seconds across every attempt, the crashed ones included."""
        return self.prior.get("elapsed_s", 0.0) + (time.time() - self.started)


def default_output_dir(recipe: Recipe, output_dir: Optional[str] = None) -> Path:
    return Path(output_dir or recipe.training.output_dir or Path("runs") / safe_name(recipe.name) / "adapter")


def open_adapter_run(recipe: Recipe, output_dir=None, overwrite: bool = False, say: Callable = print) -> AdapterRun:
    """The run for the recipe's adapter dir; `reused` holds the card when a complete adapter is left alone."""
    from accelerate import PartialState

    state = PartialState(cpu=not cuda_available())
    say = say if state.is_main_process else (lambda *a, **k: None)  # one rank speaks
    run = AdapterRun(recipe, default_output_dir(recipe, output_dir), state, say)
    if cards.is_complete(run.out) and not overwrite:
        run.reused = cards.read_card(run.out)
        check_reusable(run.reused, recipe, run.out)
        run.say(f"adapter already complete: {run.out} (pass --overwrite to retrain)")
        return run
    # a missing or unreachable model fails here, before a mix is built or an old adapter removed
    run.model_path = resolve_model(recipe.model.id, recipe.model.revision)
    if overwrite and run.out.exists() and run.is_main:
        run.say(f"--overwrite: removing {run.out}")
        shutil.rmtree(run.out)
    state.wait_for_everyone()
    if run.is_main:
        run.out.mkdir(parents=True, exist_ok=True)
    return run


def check_reusable(card: dict, recipe: Recipe, out: Path) -> None:
    """A complete adapter is reused only when it was trained from this recipe's values (model, lora, data, mix,
    training); otherwise one line says which keys differ."""
    if card.get("train_hash") == ids.recipe_identity_hash(recipe, ids.TRAIN_SECTIONS):
        return
    before = card.get("train_identity")
    if before is None and card.get("recipe"):  # cards of older versions keep the whole recipe only
        before = ids.identity_of_dump(card["recipe"], ids.TRAIN_SECTIONS)
    now = ids.identity(recipe, ids.TRAIN_SECTIONS)
    if before is None or not ids.differences(before, now):
        return  # nothing to compare, or the same values under an older hash
    raise IftkitError(
        f"{out}: holds an adapter trained from other recipe values ({ids.describe_differences(before, now)}); "
        f"pass --overwrite to retrain it there, or give another output dir"
    )


def prepare_mix(run: AdapterRun, mix_dir: Optional[str] = None) -> Path:
    """The mix to train on: the one given, or one built (by the main process) inside the adapter dir."""
    if mix_dir:
        mix = Path(mix_dir)
        if not (mix / "train.jsonl").is_file():
            raise IftkitError(f"--mix-dir {mix}: no train.jsonl there (expected a mix built by `iftkit data mix`)")
    else:
        mix = run.out / "mix"
        if run.is_main:
            build_mix(run.recipe, mix)
        run.state.wait_for_everyone()
    run.mix, run.manifest = mix, load_manifest(mix, required=False)
    return mix


def load_training_data(mix: Path) -> tuple:
    """The mix's train split and its val split (None without one) as SFTTrainer datasets."""
    return load_split(mix, "train"), load_split(mix, "val", required=False)


def _read_state(out: Path) -> dict:
    try:
        return json.loads((out / STATE_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def resume(run: AdapterRun) -> Optional[str]:
    """The checkpoint a crashed run resumes from (None: a fresh start); opens the W&B run, under the crashed
    run's id when resuming."""
    # every rank must agree on the checkpoint before the main process tidies broken ones away
    last = last_complete_checkpoint(run.checkpoints)
    run.state.wait_for_everyone()
    if run.is_main:
        last_complete_checkpoint(run.checkpoints, remove_incomplete=True)
    run.prior = _read_state(run.out) if last else {}
    run.resume_from = str(last) if last else None
    if run.is_main:
        prior_id = run.prior.get("wandb_run_id")
        run.wandb = tracking.init_run(run.recipe, run_id=prior_id, resume=bool(prior_id),
                                      config={"mix_dir": str(run.mix), "manifest_hashes": run.manifest.get("hashes")})
        cards.write_json_atomic(run.out / STATE_NAME, {**run.prior, "wandb_run_id": run.wandb.id if run.wandb else None,
                                                       "elapsed_s": run.prior.get("elapsed_s", 0.0)})
    return run.resume_from
