"""Training stage: rows -> SFTTrainer + LoRA/QLoRA -> adapter dir with card, resumable, tracked."""
