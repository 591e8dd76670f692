import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Tests never reach a hub and never upload to W&B; torch stays on the 2 cores we have.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A saved tiny Llama model + ChatML tokenizer (built locally in about a second)."""
    from iftkit.testing.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """Point iftkit's user cache at a fresh temp dir."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("IFTKIT_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def smollm2_dir():
    """The real default model (converted once into the user cache by `make setup`)."""
    from iftkit.models.resolve import default_model_dir

    return default_model_dir()
