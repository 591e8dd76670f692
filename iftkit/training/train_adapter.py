"""Train one adapter from a recipe: mix -> SFTTrainer(LoRA/QLoRA) -> adapter dir + card + W&B.

Rerunnable: a complete adapter (card status "complete") is left alone unless `overwrite`;
an interrupted one resumes from its last checkpoint under `<adapter>/checkpoints/`, with the
same W&B run id (kept in `<adapter>/train_state.json`). Under `accelerate launch` every
rank trains; only the main process builds the mix, writes the adapter, card and W&B run.
"""

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Callable, Optional

from iftkit import tracking
from iftkit.config import identity as ids
from iftkit.config.loader import recipe_hash
from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.core.paths import safe_name
from iftkit.data.mix import build_mix, load_manifest
from iftkit.models.chat_format import format_name
from iftkit.models.load import load_tokenizer
from iftkit.models.resolve import resolve_model
from iftkit.training import card as cards
from iftkit.training.dataset import load_split
from iftkit.training.resume import checkpoint_step, last_complete_checkpoint
from iftkit.training.sft_inputs import cuda_available

CHECKPOINTS = "checkpoints"
STATE_NAME = "train_state.json"
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

log = logging.getLogger("iftkit.train")


def default_output_dir(recipe: Recipe, output_dir: Optional[str] = None) -> Path:
    return Path(output_dir or recipe.training.output_dir or Path("runs") / safe_name(recipe.name) / "adapter")


def prepare_mix(recipe: Recipe, out: Path, mix_dir: Optional[str], is_main: bool, barrier: Callable) -> Path:
    """The mix to train on: the one given, or one built (by the main process) inside the adapter dir."""
    if mix_dir:
        mix = Path(mix_dir)
        if not (mix / "train.jsonl").is_file():
            raise IftkitError(f"--mix-dir {mix}: no train.jsonl there (expected a mix built by `iftkit data mix`)")
        return mix
    mix = out / "mix"
    if is_main:
        build_mix(recipe, mix)
    barrier()
    return mix


def _read_state(out: Path) -> dict:
    try:
        return json.loads((out / STATE_NAME).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def train_adapter(
    recipe: Recipe, output_dir=None, mix_dir=None, overwrite: bool = False, say: Callable = print
) -> dict:
    """Train (or resume, or skip if complete) the adapter the recipe describes; return its card."""
    from accelerate import PartialState

    state = PartialState(cpu=not cuda_available())
    is_main = state.is_main_process
    say = say if is_main else (lambda *a, **k: None)
    out = default_output_dir(recipe, output_dir)

    if cards.is_complete(out) and not overwrite:
        card = cards.read_card(out)
        check_reusable(card, recipe, out)
        say(f"adapter already complete: {out} (pass --overwrite to retrain)")
        return card
    # a missing or unreachable model fails here, before a mix is built or an old adapter removed
    model_path = resolve_model(recipe.model.id, recipe.model.revision)
    if overwrite and out.exists() and is_main:
        say(f"--overwrite: removing {out}")
        shutil.rmtree(out)
    state.wait_for_everyone()
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
    mix = prepare_mix(recipe, out, mix_dir, is_main, state.wait_for_everyone)
    return _train(recipe, out, mix, model_path, state, say)


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


def _train(recipe: Recipe, out: Path, mix: Path, model_path: str, state, say) -> dict:
    from iftkit.training.callbacks import KeepStepsCallback, progress_callbacks
    from iftkit.training.trainer import make_trainer

    is_main = state.is_main_process
    started = time.time()
    train_ds = load_split(mix, "train")
    val_ds = load_split(mix, "val", required=False)
    manifest = load_manifest(mix, required=False)
    tok = load_tokenizer(model_path, trust_remote_code=recipe.model.trust_remote_code)

    ckpt_dir = out / CHECKPOINTS
    # every rank must agree on the checkpoint before the main process tidies broken ones away
    last = last_complete_checkpoint(ckpt_dir)
    state.wait_for_everyone()
    if is_main:
        last_complete_checkpoint(ckpt_dir, remove_incomplete=True)
    prior = _read_state(out) if last else {}
    run = None
    if is_main:
        run = tracking.init_run(
            recipe,
            run_id=prior.get("wandb_run_id"),
            resume=bool(prior.get("wandb_run_id")),
            config={"mix_dir": str(mix), "manifest_hashes": manifest.get("hashes")},
        )
        cards.write_json_atomic(
            out / STATE_NAME,
            {**prior, "wandb_run_id": run.id if run else None, "elapsed_s": prior.get("elapsed_s", 0.0)},
        )
    callbacks = progress_callbacks(recipe, out, STATE_NAME, started, prior.get("elapsed_s", 0.0), val_ds is not None)
    keep = None
    if recipe.training.keep_steps:
        keep = KeepStepsCallback(out, recipe.training.keep_steps, step_card(recipe, mix, model_path))
        callbacks.append(keep)
    trainer = make_trainer(
        recipe,
        model_path,
        tok,
        train_ds,
        val_ds,
        ckpt_dir,
        report_to=["wandb"] if run is not None else [],
        callbacks=callbacks,
        run_name=run.name if run else None,
    )
    if keep is not None:
        keep.trainer = trainer
    cut = trainer.row_lengths.warning() if trainer.row_lengths else None
    if cut:
        say(cut)
    if last:
        say(f"resuming from checkpoint {last} (step {checkpoint_step(last)})")
    else:
        say(f"training {recipe.name}: {len(train_ds)} rows, output {out}")
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    tokens_seen = trainer.flush_tokens()
    val_loss = trainer.evaluate()["eval_loss"] if val_ds is not None else None

    trainer.save_model(str(out))  # adapter weights + tokenizer/chat template, main process only
    card = None
    if is_main:
        elapsed = prior.get("elapsed_s", 0.0) + (time.time() - started)
        card = build_card(
            recipe, out, mix, manifest, model_path, trainer, result.training_loss, val_loss, elapsed, tokens_seen, run
        )
        if run is not None:
            run.summary.update(
                {"final/train_loss": result.training_loss, "final/val_loss": val_loss, "final/tokens_seen": tokens_seen}
            )
        cards.write_card(out, card)
        if run is not None:
            tracking.log_adapter_artifact(run, out, f"{safe_name(recipe.name)}-adapter", artifact_metadata(card),
                                          ADAPTER_FILES)
            run.finish()
        shutil.rmtree(ckpt_dir, ignore_errors=True)
        (out / STATE_NAME).unlink(missing_ok=True)
        say(
            f"adapter written: {out} (train loss {result.training_loss:.4f}"
            + (f", val loss {val_loss:.4f})" if val_loss is not None else ")")
        )
    state.wait_for_everyone()
    return card if card is not None else cards.read_card(out)


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
    return {
        k: card.get(k)
        for k in (
            "base_model",
            "target_task",
            "target_ratio",
            "target_count",
            "seed",
            "recipe_hash",
            "train_loss",
            "val_loss",
            "tokens_seen",
        )
    } | {"data_hashes": (card.get("data") or {}).get("hashes")}


def build_card(
    recipe, out, mix, manifest, model_path, trainer, train_loss, val_loss, elapsed, tokens_seen, run
) -> dict:
    from iftkit.training.callbacks import kept_steps

    method = {"none": "lora", "4bit": "qlora-4bit", "8bit": "lora-8bit"}[recipe.model.quantization.mode]
    return {
        "status": "complete",
        "method": method,
        "base_model": recipe.model.id,
        "base_model_path": str(model_path),
        # the conversation format the adapter learnt, saved as its tokenizer's chat template
        "prompt_format": format_name(trainer.processing_class),
        "recipe": recipe.model_dump(mode="json"),
        "recipe_hash": recipe_hash(recipe),
        # what the weights depend on (config/identity.py): a rerun reuses the adapter only for the same values
        "train_hash": ids.recipe_identity_hash(recipe, ids.TRAIN_SECTIONS),
        "train_identity": ids.identity(recipe, ids.TRAIN_SECTIONS),
        "data": {
            "mix_dir": str(Path(mix).resolve()),
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
        "train_loss": float(train_loss),
        "val_loss": None if val_loss is None else float(val_loss),
        "global_step": trainer.state.global_step,
        "wall_time_s": round(elapsed, 2),
        "tokens_seen": int(tokens_seen),
        # rows cut at training.max_length: truncated_rows, max_length, longest_row_tokens
        **(trainer.row_lengths.card() if trainer.row_lengths else {}),
        "kept_steps": kept_steps(out),
        "bf16": bool(trainer.args.bf16),
        "world_size": trainer.args.world_size,
        "wandb": tracking.run_info(run),
    }
