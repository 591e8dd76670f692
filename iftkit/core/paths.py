"""Where iftkit keeps things that outlive one run (converted models, caches)."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """User cache root; `IFTKIT_CACHE` overrides it (tests point it at a temp dir)."""
    root = os.environ.get("IFTKIT_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "iftkit"


def project_root() -> Path:
    """The repository root (holds recipes/), for entry points run from a checkout."""
    return Path(__file__).resolve().parents[2]
