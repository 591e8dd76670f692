"""Where iftkit keeps things that outlive one run (converted models, caches), and the file names that
display names (recipe and task names) get."""

import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import Optional


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


# what a name may become on disk and in W&B: W&B artifact names allow exactly these, and a shell needs no quotes
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# room for the suffixes names get (-sweep, -adapter, -report, a hash) within W&B's 128-character names
_SAFE_MAX = 80


def name_problem(name) -> Optional[str]:
    """Why a display name (recipe `name`, a task name, --target-name) cannot name a folder or a W&B artifact,
    or None. Spaces and any letters are fine (safe_name turns them into a file name); what is refused would
    take the name out of its folder or leave nothing: a path separator, `..`, control characters, nothing."""
    if not isinstance(name, str) or not name.strip():
        return "a name cannot be empty"
    if "/" in name or "\\" in name:
        return "a name cannot hold a path separator ('/' or '\\'): it names a folder under runs/"
    if name.strip() in (".", ".."):
        return "a name cannot be '.' or '..': it names a folder under runs/"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "a name cannot hold control characters (newline, tab...)"
    return None


def safe_name(name: str) -> str:
    """The folder and W&B artifact name for a display name: itself when it is already made of
    ASCII letters, digits, '.', '_' and '-'; otherwise accents folded (é -> e), every other run of characters
    a '-', plus a short hash of the display name, so that two names differing only there never share a folder
    ("avis clients" -> "avis-clients-76d01b"; a name in another script becomes its hash alone)."""
    if _SAFE.search(name) is None and len(name) <= _SAFE_MAX and not name.startswith("."):
        return name
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = _SAFE.sub("-", folded).strip("-.")[:_SAFE_MAX].rstrip("-.")
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{stem}-{digest}" if stem else digest
