#!/bin/sh
# The torch build this machine needs, installed into the venv whose python is $1 (run by `make setup`).
#
# No NVIDIA GPU (no nvidia-smi, or it lists none): the CPU build $TORCH_CPU, kept when already there.
# An NVIDIA GPU: a torch that sees it is kept; otherwise $TORCH_CUDA is installed from PyPI, whose
# Linux wheels are CUDA builds, over whatever torch the venv has (a CPU build there would satisfy a
# plain install), and the result must see the GPU: bitsandbytes then runs its CUDA kernels and TRL
# its Triton LM head (iftkit/training/label_head.py), both chosen by the device the weights are on.
set -eu
PY=$1
TORCH_CPU=${TORCH_CPU:-torch==2.13.0}
TORCH_CUDA=${TORCH_CUDA:-torch}
sees_gpu() { "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; }

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    if sees_gpu; then
        echo "setup: NVIDIA GPU found, keeping the venv's CUDA torch"
        exit 0
    fi
    echo "setup: NVIDIA GPU found, installing a CUDA build of torch ($TORCH_CUDA)"
    "$PY" -m pip install -q --force-reinstall "$TORCH_CUDA"
    if ! sees_gpu; then
        echo "setup: the installed torch does not see the GPU: set TORCH_CUDA to a CUDA build" \
             "(a requirement such as 'torch==2.13.0' or a wheel file) and run make setup again" >&2
        exit 1
    fi
else
    want=${TORCH_CPU#torch==}
    "$PY" -c "import sys, torch; sys.exit(0 if torch.__version__.startswith('$want') else 1)" 2>/dev/null \
        || "$PY" -m pip install -q "$TORCH_CPU"
fi
