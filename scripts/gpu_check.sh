#!/bin/sh
# Run: sh scripts/gpu_check.sh [OUT_DIR]     (on a machine with an NVIDIA GPU, after `make setup`)
#
# The GPU device checks in one command: tests/gpu (QLoRA 4-bit load + 2 training steps + merge,
# and the GPU benchmark's code path at 2 layers), then `scripts/bench_gpu.py --all`: Llama-3.1-8B
# LoRA and QLoRA shape-true at torchtune's setup (batch 2 x 2,048 tokens) and generation
# throughput, one table. About 6-8 minutes on one H100, most of it writing and loading the random
# 16 GB checkpoint. Everything printed is also written under OUT_DIR (default runs/gpu_check).
set -eu
PY=${PY:-.venv/bin/python}
OUT=${1:-runs/gpu_check}
mkdir -p "$OUT"
nvidia-smi | tee "$OUT/nvidia-smi.txt"
"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'torch sees no GPU: run make setup')"
HF_HUB_OFFLINE=1 WANDB_MODE=disabled "$PY" -m pytest -q -rs tests/gpu 2>&1 | tee "$OUT/tests_gpu.txt"
HF_HUB_OFFLINE=1 WANDB_MODE=disabled "$PY" scripts/bench_gpu.py --all 2>&1 | tee "$OUT/bench_gpu_all.txt"
