"""SFTTrainer with the per-step work iftkit does not need switched off.

TRL's `compute_loss` also computes the LM head's entropy and top-1 accuracy on every step
and gathers them across ranks (two extra collectives and host syncs per step). With
`training.token_metrics: false` the loss is the same masked token mean, computed from the
same fused LM head, and only the token count is tracked. Tokens seen are kept in the
Trainer state, so they survive a resume from checkpoint.
"""

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch
from trl import SFTTrainer
from trl.trainer.utils import add_fused_lm_head

from iftkit.training import label_head
from iftkit.training.dataset import tokenize_records
from iftkit.training.row_length import count_cut
from iftkit.training.sft_inputs import load_base_for_training, peft_config, sft_config
from iftkit.training.speed import apply_speed_levers


class IftkitSFTTrainer(SFTTrainer):
    def __init__(self, *args, token_metrics: bool = True, truncate_to=None, speed=None, **kwargs):
        # TRL refuses max_length with padding-free batches (it would not truncate them);
        # iftkit passes max_length=None and truncates while preparing the dataset instead
        self._truncate_to = truncate_to
        # the training rows measured against the limit that cuts them (set while the dataset is prepared)
        self.row_lengths = None
        super().__init__(*args, **kwargs)
        self.token_metrics = token_metrics
        self.speed_levers = {}
        if not token_metrics:
            base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            # re-patch: the outer wrapper handles fused calls itself, computing log-probs only
            add_fused_lm_head(base, outputs=("log_probs",))
            if speed is not None and speed.lm_head_labelled_only:
                # on Triton devices (CUDA) TRL's fused head already scores only labelled rows: keep it
                if label_head.trl_head_compacts(self.args.device):
                    self.speed_levers["lm_head_labelled_only"] = "trl"
                else:
                    self.speed_levers["lm_head_labelled_only"] = label_head.add_label_lm_head(base)
        # training.* speed levers (iftkit/training/speed.py), applied once PEFT has wrapped the model
        if speed is not None:
            self.speed_levers.update(apply_speed_levers(self.model, speed, bool(self.args.bf16)))

    def _prepare_dataset(self, dataset, processing_class, args, packing, formatting_func, dataset_name):
        # iftkit tokenises chat records itself: the prompt ids are the ones eval sends (training/dataset.py)
        if formatting_func is None:
            dataset = tokenize_records(dataset, processing_class)
        if dataset_name == "train":
            # TRL cuts (or, with packing "bfd", drops the end of) rows past the limit without a word
            limit = args.max_length if args.max_length is not None else self._truncate_to
            self.row_lengths = count_cut(dataset, limit, packing, args.packing_strategy)
        if not self._truncate_to or packing or args.max_length is not None:
            return super()._prepare_dataset(dataset, processing_class, args, packing, formatting_func, dataset_name)
        args.max_length = self._truncate_to
        try:
            return super()._prepare_dataset(dataset, processing_class, args, packing, formatting_func, dataset_name)
        finally:
            args.max_length = None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.model.training:
            self._count_tokens(inputs)
        if (
            self.token_metrics
            or return_outputs
            or self.compute_loss_func is not None
            or self.label_smoother is not None
        ):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs["use_cache"] = False
        outputs = model(**inputs, fused_lm_head=True)
        num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = (-outputs.log_probs).sum() / torch.as_tensor(num_tokens).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        return loss

    def _count_tokens(self, inputs):
        # non-padding tokens: the attention mask, or every position of a padding-free row
        if "attention_mask" in inputs:
            n = inputs["attention_mask"].sum()
        else:
            n = torch.tensor(inputs["input_ids"].numel())
        self._pending_tokens = getattr(self, "_pending_tokens", 0) + int(n)

    def flush_tokens(self) -> int:
        """Add the tokens counted since the last flush (all ranks) to the state; return the total."""
        pending = torch.tensor(getattr(self, "_pending_tokens", 0), device=self.args.device)
        self._pending_tokens = 0
        self.state.num_input_tokens_seen += int(self.accelerator.gather(pending).sum().item())
        return self.state.num_input_tokens_seen

    def log(self, logs, start_time=None):
        # one gather per logging step, not per micro-batch
        self.flush_tokens()
        if self.model.training:
            logs["tokens_seen"] = self.state.num_input_tokens_seen
        super().log(logs, start_time)

    def _save_checkpoint(self, model, trial):
        # make the checkpoint's trainer_state carry every token counted so far
        self.flush_tokens()
        super()._save_checkpoint(model, trial)

    def create_model_card(self, *args, **kwargs):
        # iftkit writes its own adapter card; TRL's README would overwrite it
        return None


@dataclass
class TrainerExtras:
    """What a training run adds around the trainer: its callbacks and the W&B run it reports to."""

    callbacks: Sequence = ()
    wandb_run: Any = None


def make_trainer(recipe, model, tokenizer, train_ds, val_ds, checkpoint_dir, extras: Optional[TrainerExtras] = None):
    """The SFTTrainer `train/sft.py` runs, built from a recipe (tests and the benchmark use it too).

    `model`: the base model from `load_base_for_training`, or the path to load it from."""
    extras = extras or TrainerExtras()
    run = extras.wandb_run
    args = sft_config(recipe, checkpoint_dir, ["wandb"] if run is not None else [], has_eval=val_ds is not None,
                      run_name=run.name if run is not None else None)
    return IftkitSFTTrainer(
        model=load_base_for_training(recipe, model) if isinstance(model, str) else model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        peft_config=peft_config(recipe),
        callbacks=list(extras.callbacks),
        token_metrics=recipe.training.token_metrics,
        truncate_to=recipe.training.max_length,
        speed=recipe.training,
    )
