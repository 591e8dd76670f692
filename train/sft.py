"""Train one LoRA/QLoRA adapter from a recipe: recipe -> data -> model -> trainer -> adapter.

    accelerate launch train/sft.py --config recipes/quickstart.yaml [--section.key value ...]
                                   [--output_dir DIR] [--mix-dir DIR] [--overwrite]
    python train/sft.py --config recipes/quickstart.yaml

Each step below is one library call; `iftkit train` runs the same steps (iftkit.training.train_adapter),
and so does every cell of a sweep. Rerun the same command after a crash: training resumes from the
last checkpoint, under the same W&B run. Under `accelerate launch` every process runs this file;
only the main one builds the mix and writes the adapter.
"""

import sys

try:
    from iftkit.cli import command_args, run_guarded
    from iftkit.commands.train import say, setup_logging
    from iftkit.config import load_recipe
    from iftkit.training.adapter_run import load_training_data, open_adapter_run, prepare_mix, resume
    from iftkit.training.sft_inputs import load_base_for_training
    from iftkit.training.train_adapter import build_trainer, save_adapter
except ModuleNotFoundError as exc:
    if exc.name != "iftkit":
        raise
    sys.exit("train/sft.py: error: iftkit is not installed; run `pip install -e .` in the repository root")


def main(argv=None) -> int:
    # the flags of `iftkit train`: --config, --output_dir, --mix-dir, --overwrite, and --section.key overrides
    args = command_args("train", argv, prog="train/sft.py")
    setup_logging()

    # 1. recipe: the YAML file with the command line's overrides, validated (iftkit/config/schema.py)
    recipe = load_recipe(args.config, args.overrides)

    # the adapter dir; a complete adapter trained from these same values is left as it is
    run = open_adapter_run(recipe, args.output_dir, overwrite=args.overwrite, say=say)
    if run.reused is not None:
        return 0

    # 2. data: the general + target-task mix at the recipe's ratio (or the one --mix-dir names)
    mix = prepare_mix(run, args.mix_dir)
    train_ds, val_ds = load_training_data(mix)

    # a crashed run's last checkpoint (None: a fresh start); the W&B run opens under its id
    resume_from = resume(run)

    # 3. model: the base model, quantised to 4/8 bit for QLoRA when model.quantization asks
    model = load_base_for_training(recipe, run.model_path)

    # 4. trainer: TRL's SFTTrainer with the recipe's LoRA config and training arguments
    trainer = build_trainer(run, model, train_ds, val_ds)
    result = trainer.train(resume_from_checkpoint=resume_from)

    # 5. adapter: weights + tokenizer, adapter_card.json, README and a W&B artifact
    save_adapter(run, trainer, result)
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded("train/sft.py", main))
