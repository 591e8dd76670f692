"""Train one adapter from a recipe: mix -> SFTTrainer(LoRA/QLoRA) -> adapter dir + card + W&B.

`train_adapter` is the whole flow in one call (`iftkit train`, sweep cells, the pipeline);
train/sft.py spells out the same steps. The run before the trainer (adapter dir, mix, resume,
W&B) is in adapter_run.py; this module builds the trainer and writes what it trained.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from iftkit import tracking
from iftkit.config import identity as ids
from iftkit.config.loader import recipe_hash
from iftkit.config.schema import Recipe
from iftkit.core.paths import safe_name
from iftkit.models.chat_format import format_name
from iftkit.models.load import load_tokenizer
from iftkit.training import card as cards
from iftkit.training.adapter_run import (
    STATE_NAME,
    AdapterRun,
    load_training_data,
    open_adapter_run,
    prepare_mix,
    resume,
)
from iftkit.training.resume import checkpoint_step
from iftkit.training.sft_inputs import load_base_for_training

ADAPTER_FILES = [
    "adapter_model.safetensors",
    "adapter_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "special_tokens_map.json",
    cards.CARD_NAME,
    cards.README_NAME,
]


@dataclass
class TrainOutcome:
    """What training measured, for the card and the W&B summary."""

    train_loss: float
    val_loss: Optional[float]
    tokens_seen: int


def train_adapter(
    recipe: Recipe, output_dir=None, mix_dir=None, overwrite: bool = False, say: Callable = print
) -> dict:
    """Train (or resume, or skip if complete) the adapter the recipe describes; return its card."""
    run = open_adapter_run(recipe, output_dir, overwrite, say)
    if run.reused is not None:
        return run.reused
    train_ds, val_ds = load_training_data(prepare_mix(run, mix_dir))
    resume(run)
    model = load_base_for_training(recipe, run.model_path)
    trainer = build_trainer(run, model, train_ds, val_ds)
    result = trainer.train(resume_from_checkpoint=run.resume_from)
    return save_adapter(run, trainer, result)


def build_trainer(run: AdapterRun, model, train_ds, val_ds):
    """The SFTTrainer for this run: LoRA on `model`, checkpoints in the adapter dir, W&B and progress callbacks."""
    from iftkit.training.callbacks import KeepStepsCallback, progress_callbacks
    from iftkit.training.trainer import TrainerExtras, make_trainer

    recipe = run.recipe
    tok = load_tokenizer(run.model_path, trust_remote_code=recipe.model.trust_remote_code)
    callbacks = progress_callbacks(recipe, run.out, STATE_NAME, run.started, run.prior.get("elapsed_s", 0.0),
                                   val_ds is not None)
    keep = None
    if recipe.training.keep_steps:
        keep = KeepStepsCallback(run.out, recipe.training.keep_steps, step_card(recipe, run.mix, run.model_path))
        callbacks.append(keep)
    trainer = make_trainer(recipe, model, tok, train_ds, val_ds, run.checkpoints,
                           TrainerExtras(callbacks=callbacks, wandb_run=run.wandb))
    if keep is not None:
        keep.trainer = trainer
    cut = trainer.row_lengths.warning() if trainer.row_lengths else None
    if cut:
        run.say(cut)
    if run.resume_from:
        run.say(f"resuming from checkpoint {run.resume_from} (step {checkpoint_step(Path(run.resume_from))})")
    else:
        run.say(f"training {recipe.name}: {len(train_ds)} rows, output {run.out}")
    return trainer


def save_adapter(run: AdapterRun, trainer, result) -> dict:
    """Write the trained adapter, its card and W&B artifact (main process), drop the checkpoints; return the card."""
    outcome = TrainOutcome(result.training_loss, None, trainer.flush_tokens())
    if trainer.eval_dataset is not None:
        outcome.val_loss = trainer.evaluate()["eval_loss"]
    trainer.save_model(str(run.out))  # adapter weights + tokenizer/chat template, main process only
    card = None
    if run.is_main:
        card = build_card(run, trainer, outcome)
        cards.write_card(run.out, card)
        _log_to_wandb(run, card, outcome)
        shutil.rmtree(run.checkpoints, ignore_errors=True)
        (run.out / STATE_NAME).unlink(missing_ok=True)
        val = f", val loss {outcome.val_loss:.4f}" if outcome.val_loss is not None else ""
        run.say(f"adapter written: {run.out} (train loss {outcome.train_loss:.4f}{val})")
    run.state.wait_for_everyone()
    return card if card is not None else cards.read_card(run.out)


def _log_to_wandb(run: AdapterRun, card: dict, outcome: TrainOutcome) -> None:
    if run.wandb is None:
        return
    run.wandb.summary.update({"final/train_loss": outcome.train_loss, "final/val_loss": outcome.val_loss,
                              "final/tokens_seen": outcome.tokens_seen})
    tracking.log_adapter_artifact(run.wandb, run.out, f"{safe_name(run.recipe.name)}-adapter",
                                  artifact_metadata(card), ADAPTER_FILES)
    run.wandb.finish()


def step_card(recipe: Recipe, mix: Path, model_path: str) -> dict:
    """What eval needs from a kept step's card: the base model, the mix its test sets come from."""
    return {
        "base_model": recipe.model.id,
        "base_model_path": str(model_path),
        "data": {"mix_dir": str(Path(mix).resolve())},
        "target_task": recipe.data.target_task,
        "seed": recipe.training.seed,
    }


def artifact_metadata(card: dict) -> dict:
    keys = ("base_model", "target_task", "target_ratio", "target_count", "seed", "recipe_hash", "train_loss",
            "val_loss", "tokens_seen")
    return {k: card.get(k) for k in keys} | {"data_hashes": (card.get("data") or {}).get("hashes")}


def build_card(run: AdapterRun, trainer, outcome: TrainOutcome) -> dict:
    from iftkit.training.callbacks import kept_steps

    recipe, manifest = run.recipe, run.manifest
    method = {"none": "lora", "4bit": "qlora-4bit", "8bit": "lora-8bit"}[recipe.model.quantization.mode]
    return {
        "status": "complete",
        "method": method,
        "base_model": recipe.model.id,
        "base_model_path": str(run.model_path),
        # the conversation format the adapter learnt, saved as its tokenizer's chat template
        "prompt_format": format_name(trainer.processing_class),
        "recipe": recipe.model_dump(mode="json"),
        "recipe_hash": recipe_hash(recipe),
        # what the weights depend on (config/identity.py): a rerun reuses the adapter only for the same values
        "train_hash": ids.recipe_identity_hash(recipe, ids.TRAIN_SECTIONS),
        "train_identity": ids.identity(recipe, ids.TRAIN_SECTIONS),
        "data": {
            "mix_dir": str(Path(run.mix).resolve()),
            "hashes": manifest.get("hashes"),
            "counts": manifest.get("counts") or {"train": len(trainer.train_dataset)},
            "manifest_recipe_hash": manifest.get("recipe_hash"),
        },
        "target_task": manifest.get("target_task", recipe.data.target_task),
        "target_ratio": manifest.get("target_ratio", recipe.mix.target_ratio),
        "target_count": manifest.get("target_count", recipe.mix.target_count),
        "seed": recipe.training.seed,
        "mix_seed": manifest.get("seed", recipe.mix.seed),
        "versions": cards.library_versions(),
        "hardware": cards.hardware(),
        "git_commit": cards.git_commit(),
        "train_loss": float(outcome.train_loss),
        "val_loss": None if outcome.val_loss is None else float(outcome.val_loss),
        "global_step": trainer.state.global_step,
        "wall_time_s": round(run.elapsed(), 2),
        "tokens_seen": int(outcome.tokens_seen),
        # rows cut at training.max_length: truncated_rows, max_length, longest_row_tokens
        **(trainer.row_lengths.card() if trainer.row_lengths else {}),
        "kept_steps": kept_steps(run.out),
        "bf16": bool(trainer.args.bf16),
        "world_size": trainer.args.world_size,
        "wandb": tracking.run_info(run.wandb),
    }
